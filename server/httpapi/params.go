package httpapi

import (
	"strings"

	"stockagent/server/tickers"
)

// pathModel is the model a URL's ticker names (tickers.Model). The generated routes hand
// parameters over percent-decoded (clients encode '^': /monitor/%5EGSPC) but still backed
// by the request's buffer, so the value is copied: the model outlives the handler.
func pathModel(raw string) (string, error) {
	return tickers.Model(strings.Clone(raw))
}
