"""Print the cgo flags for embedding the interpreter that runs this script.

Run with the virtual environment's python: the flags come from the base
interpreter it was made from (its headers, its libpython), with an rpath to
that interpreter's LIBDIR so the binary loads exactly that library.
"""

import os
import shlex
import subprocess
import sys
import sysconfig


def main() -> None:
    libdir = sysconfig.get_config_var("LIBDIR")
    version = sysconfig.get_config_var("LDVERSION") or sysconfig.get_python_version()
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        sys.exit(f"{sys.base_prefix} has no shared libpython; build it with --enable-shared")
    cflags = f"-I{sysconfig.get_config_var('INCLUDEPY')}"
    pc_dir = sysconfig.get_config_var("LIBPC")
    try:
        env = dict(os.environ, PKG_CONFIG_PATH=pc_dir or "")
        libs = subprocess.run(
            ["pkg-config", "--libs", f"python-{sysconfig.get_python_version()}-embed"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        libs = f"-L{libdir} -lpython{version}"
    ldflags = f"{libs} -Wl,-rpath,{libdir}"
    print('export CGO_ENABLED="1"')
    print(f"export CGO_CFLAGS={shlex.quote(cflags)}")
    print(f"export CGO_LDFLAGS={shlex.quote(ldflags)}")


if __name__ == "__main__":
    main()
