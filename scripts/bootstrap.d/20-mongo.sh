# shellcheck shell=bash
# Group "mongo": what scripts/ipo-mongo-archive, its tests (tests/mongo) and its benchmark
# (bench/mongo) need on Debian 12:
#   - OpenSSH server (the lab's backup server; started by the tests on loopback only),
#     curl, flock, tzdata;
#   - pymongo in $IPO_TOOLS/venv (the archive script's count/delete helper and test data);
#   - FerretDB v1.24.2 (MongoDB-wire server, SQLite backend), built from the Go module proxy;
#   - mongodump/mongorestore 100.18.0, built from a mongo-tools source tree named by
#     $IPO_MONGO_TOOLS_SRC. The Go module proxy refuses github.com/mongodb/mongo-tools (403
#     for every version), Debian 12 has no package and no registry ships the binaries, so
#     without that tree (or mongodump already on PATH) they are not installed and the mongo
#     tests report SKIPPED with that reason.
# Binaries go to $IPO_TOOLS/bin with a version stamp; a second run skips all of it.
# The Debian ssh service is never started here (ipo_apt_install starts no services).

IPO_MONGO_FERRETDB_VERSION=v1.24.2
IPO_MONGO_TOOLS_VERSION=100.18.0
IPO_MONGO_TOOLS_COMMIT=21a342dfee6468ad9350d156d25086da64dd03b1

# ipo_mongo_go: make sure `go` is on PATH (Go lives in /usr/local/go on these machines).
ipo_mongo_go() {
  command -v go >/dev/null 2>&1 && return 0
  [[ -x /usr/local/go/bin/go ]] && PATH=/usr/local/go/bin:$PATH && return 0
  ipo_die "mongo: Go toolchain not found (expected /usr/local/go/bin/go)"
}

# ipo_mongo_stamped BIN VERSION: 0 when $IPO_TOOLS/bin/BIN is there at VERSION.
ipo_mongo_stamped() {
  local stamp="$IPO_TOOLS/bin/.$1.version"
  [[ -x $IPO_TOOLS/bin/$1 && -f $stamp && $(<"$stamp") == "$2" ]]
}

# ipo_mongo_build_ferretdb: FerretDB needs build/version/version.txt embedded, which the
# read-only module cache lacks, so build from a writable copy of the module.
ipo_mongo_build_ferretdb() {
  local v=$IPO_MONGO_FERRETDB_VERSION dir tmp
  ipo_mongo_stamped ferretdb "$v" && return 0
  ipo_info "mongo: building ferretdb $v"
  dir=$(go mod download -json "github.com/FerretDB/FerretDB@$v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $dir ]] || ipo_die "mongo: go mod download of FerretDB $v gave no directory"
  tmp=$(mktemp -d)
  cp -r "$dir/." "$tmp"
  chmod -R u+w "$tmp"
  echo "$v" >"$tmp/build/version/version.txt"
  mkdir -p "$IPO_TOOLS/bin"
  (cd "$tmp" && go build -trimpath -o "$IPO_TOOLS/bin/ferretdb" ./cmd/ferretdb) || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
  printf '%s' "$v" >"$IPO_TOOLS/bin/.ferretdb.version"
}

# ipo_mongo_build_tools: mongodump + mongorestore from $IPO_MONGO_TOOLS_SRC (a checkout of
# github.com/mongodb/mongo-tools at tag $IPO_MONGO_TOOLS_VERSION), unless installed already.
ipo_mongo_build_tools() {
  local v=$IPO_MONGO_TOOLS_VERSION src=${IPO_MONGO_TOOLS_SRC:-} b
  for b in mongodump mongorestore; do
    ipo_mongo_stamped "$b" "$v" && continue
    if [[ -z $src || ! -f $src/go.mod ]]; then
      if command -v "$b" >/dev/null 2>&1; then
        ipo_info "mongo: using $(command -v "$b")"
        continue
      fi
      ipo_warn "mongo: $b not installed: the Go module proxy refuses github.com/mongodb/mongo-tools and" \
        "Debian 12 has no package; set IPO_MONGO_TOOLS_SRC to a mongo-tools $v checkout (or install" \
        "MongoDB Database Tools). The mongo tests will be skipped."
      continue
    fi
    ipo_info "mongo: building $b $v from $src"
    mkdir -p "$IPO_TOOLS/bin"
    (cd "$src" && GOFLAGS=-mod=mod go build -trimpath -o "$IPO_TOOLS/bin/$b" \
      -ldflags "-X main.VersionStr=$v -X main.GitCommit=$IPO_MONGO_TOOLS_COMMIT" "./$b/main")
    printf '%s' "$v" >"$IPO_TOOLS/bin/.$b.version"
  done
}

ipo_bootstrap_mongo() {
  ipo_apt_install openssh-server openssh-client curl util-linux tzdata python3 python3-venv bc
  ipo_pip_install pymongo==4.20.0
  ipo_mongo_go
  ipo_mongo_build_ferretdb
  ipo_mongo_build_tools
}
