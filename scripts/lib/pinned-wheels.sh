# Sourced by the scripts that run Python tools (deploy checks, API fuzzing).
# pinned_wheels REQUIREMENTS NAME [DIR]: installs the wheels REQUIREMENTS pins (by SHA-256, binary
# wheels only, no dependency resolution: the file lists every one) once into DIR, by default a cache
# folder named by NAME and the file's hash, so a changed file installs afresh. Sets PINNED_WHEELS.
pinned_wheels() {
  local requirements=$1 name=$2 digest
  digest=$(sha256sum "$requirements" | cut -c1-16)
  PINNED_WHEELS=${3:-${XDG_CACHE_HOME:-$HOME/.cache}/reframe/$name-$digest}
  if [ ! -f "$PINNED_WHEELS/.installed" ]; then
    rm -rf "$PINNED_WHEELS.partial"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --require-hashes --target "$PINNED_WHEELS.partial" -r "$requirements"
    touch "$PINNED_WHEELS.partial/.installed"
    rm -rf "$PINNED_WHEELS" && mv "$PINNED_WHEELS.partial" "$PINNED_WHEELS"
  fi
}
