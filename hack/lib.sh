# hack/lib.sh: shared by hack/setup and hack/teardown. Sourced, not run.
# Everything it starts keeps its state and pid file under $CACHE.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

CACHE=${CROSSLLB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crossllb}
RUN_DIR=$CACHE/run
BUILDKIT_VERSION=$(awk '$1 == "github.com/moby/buildkit" { print $2; exit }' "$repo/go.mod")
BUILDKIT_BIN=$CACHE/buildkit-$BUILDKIT_VERSION/bin
BUILDKITD_ROOT=$CACHE/buildkitd/root
BUILDKITD_TOML=$CACHE/buildkitd/buildkitd.toml
BUILDKITD_SOCK=$RUN_DIR/buildkitd.sock
REGISTRY_PORT=${CROSSLLB_REGISTRY_PORT:-5000}
REGISTRY_ADDR=127.0.0.1:$REGISTRY_PORT
REGISTRY_DIR=$CACHE/registry

# Base images seeded into the mirror. Bump IMAGES_RECIPE when their recipe
# changes, so that a cached image built by an older recipe is rebuilt.
IMAGES_RECIPE=3
DEBIAN_MIRROR=${CROSSLLB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
GO_IMAGE_VERSION=1.26.8

current_step=""
step() {
	current_step=$1
	printf '==> %s\n' "$1" >&2
}
log() { printf '    %s\n' "$*" >&2; }
die() {
	printf 'hack/setup: step %s failed: %s\n' "${current_step:-?}" "$*" >&2
	exit 1
}

require_root() {
	[[ $EUID == 0 ]] || die "must run as root (buildkitd's runc worker and binfmt_misc need it); try: sudo $0"
}

# retry N CMD...: run CMD up to N times, 5 s apart. Debian's mirrors have
# been seen to fail a hash check once and pass on the next try.
retry() {
	local n=$1 i
	shift
	for ((i = 1; i <= n; i++)); do
		"$@" && return 0
		((i < n)) && log "attempt $i of $n failed: $*; retrying in 5s"
		sleep 5
	done
	return 1
}

# last_error LOG: the tool's own last error line in LOG (apt's and
# mmdebstrap's "E: ..." lines first), else its last non-empty line.
last_error() {
	local line
	line=$(grep '^E: ' "$1" 2>/dev/null | tail -1)
	[[ -n $line ]] || line=$(grep -Ei 'error|failed' "$1" 2>/dev/null | grep -v 'attempt .* failed' | tail -1)
	[[ -n $line ]] || line=$(grep . "$1" 2>/dev/null | tail -1)
	printf '%s' "${line:-no output (log: $1)}"
}

# with_setup_lock: hold an exclusive lock on $CACHE/setup.lock for the rest
# of this shell, so two hack/setup runs at once (two terminals, a test
# runner and a user) never build into the same temporary files: the second
# waits, then finds the first's work cached.
with_setup_lock() {
	mkdir -p "$CACHE"
	exec 9>"$CACHE/setup.lock"
	if ! flock -n 9; then
		log "another hack/setup holds $CACHE/setup.lock; waiting for it"
		flock 9 || die "cannot lock $CACHE/setup.lock"
	fi
}

# wait_for NAME SECONDS CMD...: poll CMD until it succeeds; give up early
# when the daemon NAME has exited.
wait_for() {
	local name=$1 deadline=$((SECONDS + $2))
	shift 2
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		pid_alive "$name" || return 1
		sleep 0.5
	done
}

# pid_alive NAME: the process recorded in $RUN_DIR/NAME.pid is running and
# is still ours: after a reboot the pid may belong to something else, whose
# command line then does not name NAME's program.
pid_alive() {
	local f=$RUN_DIR/$1.pid pid prog
	[[ -f $f ]] || return 1
	pid=$(cat "$f")
	kill -0 "$pid" 2>/dev/null || return 1
	case $1 in
	registry) prog=docker-registry ;;
	*) prog=$1 ;;
	esac
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$prog"
}

# stop_pid NAME: stop the process recorded in $RUN_DIR/NAME.pid, nothing else.
stop_pid() {
	local f=$RUN_DIR/$1.pid pid i
	[[ -f $f ]] || return 0
	pid=$(cat "$f")
	if pid_alive "$1"; then
		log "stopping $1 (pid $pid)"
		kill "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	fi
	rm -f "$f"
}

# start_daemon NAME CMD...: start CMD detached, log to $RUN_DIR/NAME.log.
start_daemon() {
	local name=$1
	shift
	mkdir -p "$RUN_DIR"
	# 3>&-: hack/setup's fd 3 is the stdout of `eval "$(hack/setup)"`; a
	# daemon holding it would keep that command substitution waiting.
	# 9>&-: fd 9 holds setup.lock; a daemon holding it would keep every
	# later hack/setup waiting.
	setsid "$@" >"$RUN_DIR/$name.log" 2>&1 </dev/null 3>&- 9>&- &
	echo $! >"$RUN_DIR/$name.pid"
}

register_binfmt() {
	local dir=/proc/sys/fs/binfmt_misc arch conf
	if [[ ! -e $dir/register ]]; then
		mount -t binfmt_misc binfmt_misc "$dir" 2>/dev/null ||
			die "cannot mount binfmt_misc on $dir: foreign platforms are unavailable on this machine (a container needs --privileged, or register QEMU handlers on the host)"
	fi
	for arch in "$@"; do
		conf=/usr/lib/binfmt.d/qemu-$arch.conf
		[[ -f $conf ]] || die "$conf missing: reinstall qemu-user-static"
		if [[ -f $dir/qemu-$arch ]]; then
			if grep -q '^flags:.*F' "$dir/qemu-$arch"; then
				# A test that takes emulation away (integration's
				# no-emulation test) and was killed leaves it disabled.
				if grep -qx disabled "$dir/qemu-$arch"; then
					echo 1 >"$dir/qemu-$arch"
					log "re-enabled qemu-$arch"
				fi
				continue
			fi
			log "qemu-$arch is registered without the F flag; registering it again"
			echo -1 >"$dir/qemu-$arch"
		fi
		grep -v '^#' "$conf" | grep . >"$dir/register" ||
			die "registering qemu-$arch in $dir/register failed"
		log "registered qemu-$arch"
	done
}

ensure_buildkit() {
	if [[ -x $BUILDKIT_BIN/buildkitd && -x $BUILDKIT_BIN/buildctl ]]; then
		log "cached in $BUILDKIT_BIN"
		return
	fi
	command -v go >/dev/null || die "go is not on PATH: install Go 1.26 to build buildkitd"
	local src tmp
	src=$(cd "$repo" && go mod download -json "github.com/moby/buildkit@$BUILDKIT_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -d $src ]] || die "go mod download github.com/moby/buildkit@$BUILDKIT_VERSION failed: is the Go module proxy reachable?"
	mkdir -p "$(dirname "$BUILDKIT_BIN")"
	tmp=$(mktemp -d "$(dirname "$BUILDKIT_BIN")/bin.XXXXXX")
	log "building buildkitd and buildctl from $src (1-3 minutes)"
	# BuildKit's go.mod has exclude directives, so `go install pkg@v` refuses it;
	# building inside the module's own directory works. The release stamp
	# makes the daemon report its version (else v0.0.0+unknown), which
	# solver.Connect checks against its minimum.
	(cd "$src" && GOFLAGS=-mod=mod go build -ldflags "-X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION" -o "$tmp/" ./cmd/buildkitd ./cmd/buildctl) ||
		{ rm -rf "$tmp"; die "building buildkit $BUILDKIT_VERSION failed (see above)"; }
	rm -rf "$BUILDKIT_BIN"
	mv "$tmp" "$BUILDKIT_BIN"
}

registry_ok() { curl -fsS -o /dev/null "http://$REGISTRY_ADDR/v2/"; }

ensure_registry() {
	if pid_alive registry && registry_ok; then
		log "registry on $REGISTRY_ADDR already running"
		return
	fi
	if registry_ok 2>/dev/null; then
		die "$REGISTRY_ADDR answers but was not started by hack/setup: stop it, or set CROSSLLB_REGISTRY_PORT to a free port"
	fi
	stop_pid registry
	mkdir -p "$REGISTRY_DIR/data"
	cat >"$REGISTRY_DIR/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
	start_daemon registry docker-registry serve "$REGISTRY_DIR/config.yml"
	wait_for registry 30 registry_ok ||
		die "registry did not answer on $REGISTRY_ADDR (exited, or not within 30s); its log: $RUN_DIR/registry.log"
	log "registry on $REGISTRY_ADDR started"
}

buildctl() { "$BUILDKIT_BIN/buildctl" --addr "unix://$BUILDKITD_SOCK" "$@"; }

worker_platforms() {
	buildctl debug workers --format '{{range .}}{{range .Platforms}}{{.OS}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}} {{end}}{{end}}'
}

ensure_buildkitd() {
	local want
	want=$(
		cat <<EOF
# written by hack/setup
[worker.oci]
  enabled = true
[worker.containerd]
  enabled = false
[registry."docker.io"]
  mirrors = ["$REGISTRY_ADDR"]
[registry."$REGISTRY_ADDR"]
  http = true
EOF
	)
	if pid_alive buildkitd && [[ -f $BUILDKITD_TOML && $(cat "$BUILDKITD_TOML") == "$want" ]] && buildctl debug workers >/dev/null 2>&1; then
		# A buildkitd started before the QEMU handlers were registered does not
		# report the foreign platforms: restart it then.
		if [[ " $(worker_platforms) " == *" linux/arm64 "* ]]; then
			log "buildkitd already running: $(worker_platforms)"
			return
		fi
		log "buildkitd does not report linux/arm64; restarting it"
	fi
	stop_pid buildkitd
	mkdir -p "$BUILDKITD_ROOT" "$RUN_DIR"
	printf '%s\n' "$want" >"$BUILDKITD_TOML"
	rm -f "$BUILDKITD_SOCK"
	command -v runc >/dev/null || die "runc is not installed"
	start_daemon buildkitd "$BUILDKIT_BIN/buildkitd" --config "$BUILDKITD_TOML" --root "$BUILDKITD_ROOT" \
		--addr "unix://$BUILDKITD_SOCK" --oci-worker=true --containerd-worker=false
	wait_for buildkitd 60 buildctl debug workers ||
		die "buildkitd did not answer on $BUILDKITD_SOCK (exited, or not within 60s); its log: $RUN_DIR/buildkitd.log"
	log "buildkitd started: $(worker_platforms)"
}

# image_in_registry REPO TAG: whether the mirror has it (a 404 is a no,
# not an error to print). An image of one platform is a manifest, not an
# index: the registry answers 404 unless its media type is accepted too.
image_in_registry() {
	curl -fs -o /dev/null \
		-H 'Accept: application/vnd.oci.image.index.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REGISTRY_ADDR/v2/$1/manifests/$2"
}

# build_rootfs SUITE DEBIAN_ARCH: a minbase Debian root filesystem
# tarball like the official slim images' (hack/debian-slim), cached. The
# maybe-merged-usr hook lays out the merged /usr with symbolic links up
# front, as debootstrap does for the official images; without it apt
# installs the usrmerge package to convert it, and with it all of perl
# (50 MB).
build_rootfs() {
	local suite=$1 arch=$2 out=$CACHE/rootfs/$1-$2-r$IMAGES_RECIPE.tar log=$CACHE/rootfs/$1-$2.log
	[[ -s $out ]] && return 0
	mkdir -p "$CACHE/rootfs"
	log "mmdebstrap $suite for $arch (foreign ones run under QEMU: minutes)"
	retry 3 mmdebstrap --quiet --format=tar --variant=minbase --architectures="$arch" \
		--hook-dir=/usr/share/mmdebstrap/hooks/maybe-merged-usr \
		--skip=chroot/policy-rc.d \
		--extract-hook="\"$repo/hack/debian-slim\" extract \"\$1\"" \
		--customize-hook="\"$repo/hack/debian-slim\" customize \"\$1\"" \
		"$suite" "$out.tmp" "$DEBIAN_MIRROR" >"$log" 2>&1 || {
		rm -f "$out.tmp"
		log "mmdebstrap $suite for $arch failed: $(last_error "$log") (log: $log)"
		return 1
	}
	mv "$out.tmp" "$out"
}

# build_image NAME PLATFORMS CONTEXT: build CONTEXT/Dockerfile for PLATFORMS
# with BuildKit's Dockerfile frontend and push it to the mirror as NAME.
build_image() {
	buildctl build --progress=plain --frontend dockerfile.v0 \
		--local context="$3" --local dockerfile="$3" --opt platform="$2" \
		--output "type=image,name=$REGISTRY_ADDR/$1,push=true,registry.insecure=true,oci-mediatypes=true" \
		>"$3.log" 2>&1 || { tail -30 "$3.log" >&2; return 1; }
}

# The Debian images seeded, as "TAG SUITE DEBIAN_ARCHES": bookworm-slim
# for three platforms (the runtime base, and the golang image's base), and
# trixie-slim (glibc 2.41) for the build platform only: a builder newer
# than the runtime base, for the tests of the glibc floor check.
DEBIAN_IMAGES=("bookworm-slim bookworm amd64,arm64,armhf" "trixie-slim trixie amd64")

# seed_debian builds the root filesystems of every missing image at once
# (the foreign ones under QEMU take minutes), then the images.
seed_debian() {
	local todo=() entry tag suite arches arch pids=() pid
	for entry in "${DEBIAN_IMAGES[@]}"; do
		read -r tag suite arches <<<"$entry"
		if [[ -f $CACHE/images/debian-$tag.r$IMAGES_RECIPE ]] && image_in_registry library/debian "$tag"; then
			log "library/debian:$tag cached"
			continue
		fi
		todo+=("$entry")
		for arch in ${arches//,/ }; do
			build_rootfs "$suite" "$arch" &
			pids+=($!)
		done
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || die "building a Debian root filesystem failed: mmdebstrap's error is above"
	done
	for entry in "${todo[@]}"; do
		read -r tag suite arches <<<"$entry"
		build_debian_image "$tag" "$suite" "$arches"
	done
}

# build_debian_image TAG SUITE DEBIAN_ARCHES: library/debian:TAG from the
# cached root filesystems.
build_debian_image() {
	local tag=$1 suite=$2 arches=$3 name=library/debian:$1 ctx=$CACHE/images/ctx-debian-$1-r$IMAGES_RECIPE
	local arch file plat=() platforms
	rm -rf "$ctx"
	mkdir -p "$ctx"
	for arch in ${arches//,/ }; do
		case $arch in
		armhf) plat+=(linux/arm/v7) file=armv7 ;;
		*) plat+=("linux/$arch") file=$arch ;;
		esac
		ln -f "$CACHE/rootfs/$suite-$arch-r$IMAGES_RECIPE.tar" "$ctx/rootfs-$file.tar"
	done
	cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
ARG TARGETARCH
ARG TARGETVARIANT
ADD rootfs-${TARGETARCH}${TARGETVARIANT}.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["bash"]
EOF
	platforms=$(IFS=,; echo "${plat[*]}")
	log "building $name for $platforms"
	retry 2 build_image "$name" "$platforms" "$ctx" ||
		die "building $name failed (log: $ctx.log)"
	mkdir -p "$CACHE/images"
	touch "$CACHE/images/debian-$tag.r$IMAGES_RECIPE"
}

# go_toolchain ARCH DEST: GOROOT for linux/ARCH from the Go module proxy.
go_toolchain() {
	local arch=$1 dest=$2 mod src
	mod=golang.org/toolchain@v0.0.1-go$GO_IMAGE_VERSION.linux-$arch
	src=$(cd "$repo" && go mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -d $src ]] || { log "go mod download $mod failed"; return 1; }
	rm -rf "$dest.tmp"
	cp -r "$src" "$dest.tmp"
	chmod -R u+w "$dest.tmp"
	# Module zips do not keep exec bits.
	chmod +x "$dest.tmp"/bin/* "$dest.tmp"/pkg/tool/*/*
	mv "$dest.tmp" "$dest"
}

seed_golang() {
	local name=library/golang:1.26-bookworm stamp=$CACHE/images/golang-1.26-bookworm.go$GO_IMAGE_VERSION.r$IMAGES_RECIPE
	if [[ -f $stamp ]] && image_in_registry library/golang 1.26-bookworm; then
		log "$name cached"
		return
	fi
	local ctx=$CACHE/images/ctx-golang-$GO_IMAGE_VERSION arch
	mkdir -p "$ctx"
	for arch in amd64 arm64; do
		[[ -d $ctx/go-$arch ]] || go_toolchain "$arch" "$ctx/go-$arch" ||
			die "fetching the Go $GO_IMAGE_VERSION toolchain for linux/$arch from the module proxy failed"
	done
	# Like the real golang image, it trusts the public CAs (the go command
	# fetches modules over HTTPS), while debian:bookworm-slim, like the
	# real one, has no ca-certificates. The bundle is made natively on the
	# build platform: the certificates are the same for every target.
	cat >"$ctx/Dockerfile" <<EOF
FROM --platform=\$BUILDPLATFORM debian:bookworm-slim AS certs
RUN i=0; until apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates; do \\
      i=\$((i+1)); [ \$i -lt 3 ] || exit 1; sleep 5; done
FROM debian:bookworm-slim
ARG TARGETARCH
COPY --from=certs /usr/share/ca-certificates /usr/share/ca-certificates
COPY --from=certs /etc/ssl/certs /etc/ssl/certs
COPY go-\${TARGETARCH} /usr/local/go
ENV GOLANG_VERSION=$GO_IMAGE_VERSION GOTOOLCHAIN=local GOPATH=/go
ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
EOF
	log "building $name for linux/amd64,linux/arm64"
	retry 2 build_image "$name" linux/amd64,linux/arm64 "$ctx" ||
		die "building $name failed (log: $ctx.log)"
	mkdir -p "$(dirname "$stamp")"
	touch "$stamp"
}
