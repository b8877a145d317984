//go:build cgo

package native

// The functions C calls back into. A file that exports to C may only declare
// C in its preamble, so they live here apart from native.go.

/*
#include <stdint.h>
#include <stddef.h>
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

//export nbGoEvent
func nbGoEvent(h C.uintptr_t, data *C.char, n C.size_t) {
	cgo.Handle(h).Value().(EventSink)(unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n)))
}

//export nbGoLog
func nbGoLog(level C.int, name *C.char, nameLen C.size_t, msg *C.char, msgLen C.size_t) {
	if logSink == nil {
		return
	}
	logSink(int(level), C.GoStringN(name, C.int(nameLen)), C.GoStringN(msg, C.int(msgLen)))
}
