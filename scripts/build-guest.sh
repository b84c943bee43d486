#!/usr/bin/env bash
# Build Vireo's default RISC-V guest fixture: a small Linux kernel (Image),
# an initramfs with static busybox, cpubench and vsockcat, a static fio for
# the virtio-blk benchmark (not in the initramfs), and a stamp file.
#
# Everything comes from Debian packages (linux-source-6.1, the busybox and
# fio source packages, the riscv64 cross toolchain); nothing else is
# downloaded.
# Outputs go to ${VIREO_CACHE:-$HOME/.cache/vireo}/riscv64/, work trees to
# .../build/. Each step is skipped when a hash of its inputs (fragment files,
# Debian package versions, toolchain version and the text of the shell
# functions implementing the step) is unchanged, so a warm run takes seconds.
#
# Usage: scripts/build-guest.sh [--force]
#   --force       ignore the cached hashes and redo every step (the kernel
#                 build stays incremental)
# Environment: VIREO_CACHE (cache root), VIREO_JOBS (make -j, default 2).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${VIREO_CACHE:-$HOME/.cache/vireo}
OUT=$CACHE/riscv64
BUILD=$CACHE/build
LOGS=$BUILD/logs
JOBS=${VIREO_JOBS:-2}
CROSS=riscv64-linux-gnu-
FORCE=0

KFRAG=$ROOT/guest/riscv64/kernel.config
BBFRAG=$ROOT/guest/riscv64/busybox.config
INIT=$ROOT/guest/riscv64/init
CPUBENCH_SRC=$ROOT/bench/guest/cpubench.c
VSOCKCAT_SRC=$ROOT/guest/tools/vsockcat.c

LINUX_PKG=linux-source-6.1
LINUX_TARBALL=/usr/src/linux-source-6.1.tar.xz
KSRC=$BUILD/linux/src
KOBJ=$BUILD/linux/obj
BB=$BUILD/busybox
# Fixed mtime for everything in the initramfs, so the archive is reproducible.
EPOCH=0

for arg in "$@"; do
	case $arg in
	--force) FORCE=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "unknown argument: $arg (try --help)" >&2
		exit 2
		;;
	esac
done

log() { echo "build-guest: $*"; }
die() {
	echo "build-guest: ERROR: $*" >&2
	exit 1
}

# Run a command with its output going to a log file; on failure show the
# tail of the log. Only for external commands: `set -e` does not apply inside
# shell functions called from an `||` context.
run_logged() {
	local logfile=$1
	shift
	"$@" >>"$logfile" 2>&1 || {
		echo "build-guest: FAILED: $* (last lines of $logfile):" >&2
		tail -n 40 "$logfile" >&2
		exit 1
	}
}

short_hash() { sha256sum | cut -c1-16; }

# Step is up to date if its recorded input hash matches (and not --force).
is_fresh() { # stampfile hash
	[[ $FORCE == 0 && -f $1 && "$(cat "$1")" == "$2" ]]
}

# Merge a kconfig fragment into an existing .config: every symbol mentioned
# by the fragment (as CONFIG_X=... or "# CONFIG_X is not set") replaces the
# existing line. Used for busybox, whose kconfig has no merge_config.sh.
apply_fragment() { # .config fragment
	local assigns syms
	assigns=$(grep -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)' "$2" || true)
	syms=$(sed -nE 's/^(# )?(CONFIG_[A-Za-z0-9_]+)( is not set|=.*)$/\2/p' <<<"$assigns" | paste -sd'|')
	{
		grep -vE "^(# )?($syms)( is not set|=)" "$1" || true
		echo "$assigns"
	} >"$1.tmp"
	mv "$1.tmp" "$1"
}

# Fail loudly if an assignment of the fragment did not survive Kconfig
# (typically an unmet dependency silently dropping an option). Options the
# fragment turns off are only warned about (some are forced on by selects).
verify_config() { # .config fragment what
	local cfg=$1 frag=$2 what=$3 line sym missing=()
	while IFS= read -r line; do
		grep -qxF "$line" "$cfg" || missing+=("$line (got: $(grep -E "^(# )?${line%%=*}( is not set|=)" "$cfg" || echo absent))")
	done < <(grep -E '^CONFIG_[A-Za-z0-9_]+=' "$frag")
	while IFS= read -r sym; do
		if grep -qE "^$sym=" "$cfg"; then
			log "warning: $what: $sym is forced on despite '# $sym is not set'"
		fi
	done < <(sed -nE 's/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1/p' "$frag")
	if ((${#missing[@]})); then
		echo "build-guest: ERROR: $what config: options of $frag missing from $cfg:" >&2
		printf '  %s\n' "${missing[@]}" >&2
		exit 1
	fi
}

preflight() {
	local c missing=()
	for c in make gcc "${CROSS}gcc" "${CROSS}readelf" "${CROSS}strip" bc flex bison tar xz gzip \
		sha256sum flock apt-get dpkg-query dpkg-source; do
		command -v "$c" >/dev/null || missing+=("$c")
	done
	((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (Debian: apt-get install build-essential gcc-riscv64-linux-gnu bc flex bison dpkg-dev xz-utils)"
	[[ -f $LINUX_TARBALL ]] || die "$LINUX_TARBALL not found (apt-get install $LINUX_PKG)"
	# gcc-riscv64-linux-gnu does not pull in the target libc; busybox and
	# cpubench are linked statically against it.
	[[ -f /usr/riscv64-linux-gnu/lib/libc.a ]] ||
		die "riscv64 static libc not found (apt-get install libc6-dev-riscv64-cross)"
}

toolchain_id() {
	"${CROSS}gcc" --version | head -n1
	"${CROSS}ld" --version | head -n1
}

# ---------------------------------------------------------------- kernel

kernel_make() {
	# Fixed build user/host/number/date (the Debian changelog's) so that
	# the same inputs give the same Image.
	run_logged "$LOGS/kernel.log" make -C "$KSRC" O="$KOBJ" ARCH=riscv CROSS_COMPILE="$CROSS" \
		KBUILD_BUILD_USER=vireo KBUILD_BUILD_HOST=vireo KBUILD_BUILD_VERSION=1 \
		KBUILD_BUILD_TIMESTAMP="$KERNEL_DATE" "$@"
}

kernel_source() {
	local ver
	ver=$(dpkg-query -W -f='${Version}' "$LINUX_PKG")
	if [[ -f $KSRC/.vireo-version && "$(cat "$KSRC/.vireo-version")" == "$ver" ]]; then
		return
	fi
	log "kernel: extracting $LINUX_PKG $ver"
	# A different source version invalidates the object tree too.
	rm -rf "$BUILD/linux"
	mkdir -p "$BUILD/linux/tmp"
	tar -C "$BUILD/linux/tmp" -xf "$LINUX_TARBALL"
	mv "$BUILD/linux/tmp/linux-source-6.1" "$KSRC"
	rmdir "$BUILD/linux/tmp"
	echo "$ver" >"$KSRC/.vireo-version"
}

kernel_date() {
	dpkg-parsechangelog -l "/usr/share/doc/$LINUX_PKG/changelog.Debian.gz" -SDate 2>/dev/null || true
}

kernel_build() {
	mkdir -p "$KOBJ"
	: >"$LOGS/kernel.log"
	# Minimal base + our fragment. Regenerating .config from scratch each
	# time keeps it a pure function of the fragment; kbuild only rebuilds
	# what the changed options affect, so the kept object tree makes this
	# incremental.
	kernel_make tinyconfig
	run_logged "$LOGS/kernel.log" env -C "$KSRC" \
		scripts/kconfig/merge_config.sh -m -O "$KOBJ" "$KOBJ/.config" "$KFRAG"
	kernel_make olddefconfig
	verify_config "$KOBJ/.config" "$KFRAG" kernel
	log "kernel: make -j$JOBS Image (log: $LOGS/kernel.log)"
	kernel_make -j"$JOBS" Image
	cp "$KOBJ/arch/riscv/boot/Image" "$OUT/Image.tmp"
	mv "$OUT/Image.tmp" "$OUT/Image"
}

step_kernel() {
	kernel_source
	KERNEL_DATE=$(kernel_date)
	KERNEL_HASH=$({
		echo "$LINUX_PKG $(cat "$KSRC/.vireo-version") $KERNEL_DATE"
		toolchain_id
		cat "$KFRAG"
		declare -f kernel_make kernel_build verify_config
	} | short_hash)
	if is_fresh "$KOBJ/.vireo-hash" "$KERNEL_HASH" &&
		cmp -s "$KOBJ/arch/riscv/boot/Image" "$OUT/Image"; then
		log "kernel: up to date ($KERNEL_HASH)"
		return
	fi
	log "kernel: configuring (tinyconfig + $(basename "$KFRAG"))"
	rm -f "$KOBJ/.vireo-hash"
	kernel_build
	echo "$KERNEL_HASH" >"$KOBJ/.vireo-hash"
	log "kernel: built $(du -h "$OUT/Image" | cut -f1) Image"
}

# ------------------------------------------------- Debian source packages

# Fetch a Debian source package once into DIR/dl. deb-src indexes come from
# a private apt configuration (the machine's own URIs/suites/keyring, with
# Types: deb-src) so that /etc/apt is left untouched.
deb_source_fetch() { # package dir
	local pkg=$1 dir=$2
	local dscs=("$dir/dl/${pkg}_"*.dsc)
	[[ -f ${dscs[0]} ]] && return
	log "$pkg: fetching Debian source package (private deb-src index)"
	local A=$BUILD/apt
	mkdir -p "$A/sources.list.d" "$A/lists/partial" "$A/cache/archives/partial"
	sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
		>"$A/sources.list.d/vireo-deb-src.sources"
	# Dir::Cache is redirected too, so the machine's package cache is not
	# regenerated from our source-only list.
	local opts=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$A/sources.list.d"
		-o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache")
	: >"$LOGS/$pkg-fetch.log"
	run_logged "$LOGS/$pkg-fetch.log" apt-get "${opts[@]}" update
	rm -rf "$dir/dl.tmp"
	mkdir -p "$dir/dl.tmp"
	# apt verifies the files against the signed Sources index.
	(cd "$dir/dl.tmp" && run_logged "$LOGS/$pkg-fetch.log" apt-get "${opts[@]}" source --download-only "$pkg")
	rm -rf "$dir/dl"
	mv "$dir/dl.tmp" "$dir/dl"
}

# Unpack the fetched source package (with the Debian patches applied) into
# DIR/src, unless that version is there already. Sets SOURCE_VERSION.
deb_source_extract() { # package dir
	local pkg=$1 dir=$2
	local dscs=("$dir/dl/${pkg}_"*.dsc) dsc ver
	dsc=${dscs[0]}
	ver=$(sed -n 's/^Version: //p' "$dsc")
	SOURCE_VERSION=$ver
	if [[ -f $dir/src/.vireo-version && "$(cat "$dir/src/.vireo-version")" == "$ver" ]]; then
		return
	fi
	log "$pkg: extracting source $ver (with Debian patches)"
	rm -rf "$dir/src" "$dir/src.tmp"
	: >"$LOGS/$pkg-extract.log"
	run_logged "$LOGS/$pkg-extract.log" dpkg-source -x "$dsc" "$dir/src.tmp"
	mv "$dir/src.tmp" "$dir/src"
	echo "$ver" >"$dir/src/.vireo-version"
}

# --------------------------------------------------------------- busybox

busybox_make() {
	# SOURCE_DATE_EPOCH (Debian changelog date) replaces the build time in
	# the version banner, so the binary is reproducible.
	run_logged "$LOGS/busybox.log" env SOURCE_DATE_EPOCH="$BUSYBOX_EPOCH" \
		make -C "$BB/src" O="$BB/obj" CROSS_COMPILE="$CROSS" \
		BB_EXTRA_VERSION="Debian $BUSYBOX_VERSION, vireo" "$@"
}

busybox_build() {
	# Busybox builds in about a minute; build from scratch on any change,
	# which is simpler than trusting its old kbuild with config changes.
	rm -rf "$BB/obj" "$BB/out"
	mkdir -p "$BB/obj" "$BB/out"
	: >"$LOGS/busybox.log"
	busybox_make defconfig
	apply_fragment "$BB/obj/.config" "$BBFRAG"
	# Answer any new question with its default. (`|| true`: yes dies of
	# SIGPIPE, which pipefail would report.)
	(yes "" || true) | busybox_make oldconfig
	verify_config "$BB/obj/.config" "$BBFRAG" busybox
	log "busybox: make -j$JOBS (log: $LOGS/busybox.log)"
	busybox_make -j"$JOBS"
	busybox_make busybox.links
	if "${CROSS}readelf" -l "$BB/obj/busybox" | grep -q INTERP; then
		die "busybox is not static"
	fi
	cp "$BB/obj/busybox" "$BB/obj/busybox.links" "$BB/out/"
}

step_busybox() {
	deb_source_fetch busybox "$BB"
	deb_source_extract busybox "$BB"
	BUSYBOX_VERSION=$SOURCE_VERSION
	BUSYBOX_EPOCH=$(dpkg-parsechangelog -l "$BB/src/debian/changelog" -STimestamp 2>/dev/null || echo 0)
	BUSYBOX_HASH=$({
		echo "busybox $BUSYBOX_VERSION"
		toolchain_id
		cat "$BBFRAG"
		declare -f busybox_make busybox_build apply_fragment verify_config
	} | short_hash)
	if is_fresh "$BB/out/.vireo-hash" "$BUSYBOX_HASH" && [[ -x $BB/out/busybox ]]; then
		log "busybox: up to date ($BUSYBOX_VERSION, $BUSYBOX_HASH)"
		return
	fi
	log "busybox: configuring $BUSYBOX_VERSION (defconfig + $(basename "$BBFRAG"))"
	busybox_build
	echo "$BUSYBOX_HASH" >"$BB/out/.vireo-hash"
	log "busybox: built $(du -h "$BB/out/busybox" | cut -f1) static binary"
}

# -------------------------------------------------------- guest programs

# Small static C programs for the initramfs: cpubench (the CPU benchmark) and
# vsockcat (netcat for AF_VSOCK; busybox has none). NAME=SOURCE:LIBS.
GUEST_PROGRAMS=(
	"cpubench=$CPUBENCH_SRC:-lm"
	"vsockcat=$VSOCKCAT_SRC:"
)
PROGRAM_CFLAGS=(-O2 -static -Wall -Wextra)

step_programs() {
	local dir=$BUILD/programs entry name src libs
	PROGRAMS_HASH=$({
		toolchain_id
		echo "${PROGRAM_CFLAGS[*]} ${GUEST_PROGRAMS[*]}"
		for entry in "${GUEST_PROGRAMS[@]}"; do
			src=${entry#*=}
			cat "${src%%:*}"
		done
	} | short_hash)
	local missing=0
	for entry in "${GUEST_PROGRAMS[@]}"; do
		[[ -x $dir/${entry%%=*} ]] || missing=1
	done
	if ((missing == 0)) && is_fresh "$dir/.vireo-hash" "$PROGRAMS_HASH"; then
		log "programs: up to date ($PROGRAMS_HASH)"
		return
	fi
	mkdir -p "$dir"
	rm -f "$dir/.vireo-hash"
	for entry in "${GUEST_PROGRAMS[@]}"; do
		name=${entry%%=*}
		src=${entry#*=}
		libs=${src#*:}
		src=${src%%:*}
		# shellcheck disable=SC2086 # libs is a word list
		"${CROSS}gcc" "${PROGRAM_CFLAGS[@]}" -o "$dir/$name" "$src" $libs
		log "programs: built $name ($(du -h "$dir/$name" | cut -f1) static binary)"
	done
	echo "$PROGRAMS_HASH" >"$dir/.vireo-hash"
}

# ------------------------------------------------------------- initramfs

# The archive is written by the kernel's own usr/gen_init_cpio from a spec
# list: ownership is 0:0 and /dev/console is a real device node without
# needing root, fakeroot or mknod, and the output is reproducible.
initramfs_tree() {
	local R=$1 l
	rm -rf "$R"
	mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/share/udhcpc,etc,dev,proc,sys,tmp,mnt,root,run,var/log}
	install -m 0755 "$BB/out/busybox" "$R/bin/busybox"
	# Applet links, as `busybox --install -s` would make (the binary cannot
	# run on the build host).
	while IFS= read -r l; do
		[[ $l == /bin/busybox ]] && continue
		mkdir -p "$R$(dirname "$l")"
		ln -sfn /bin/busybox "$R$l"
	done <"$BB/out/busybox.links"
	install -m 0755 "$INIT" "$R/init"
	install -m 0755 "$BUILD/programs/cpubench" "$R/bin/cpubench"
	install -m 0755 "$BUILD/programs/vsockcat" "$R/bin/vsockcat"
	# Default udhcpc hook, so that `udhcpc -i eth0` configures the interface.
	install -m 0755 "$BB/src/examples/udhcp/simple.script" "$R/usr/share/udhcpc/default.script"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
	echo 'root:x:0:' >"$R/etc/group"
	chmod 1777 "$R/tmp"
	chmod 0700 "$R/root"
	find "$R" -exec touch -h -d "@$EPOCH" {} +
}

initramfs_spec() { # tree
	# One line per entry, parents before children; then the device nodes
	# (/dev already exists by then).
	(cd "$1" && find . -mindepth 1 -printf '%y %m /%P %l\n' | LC_ALL=C sort -k3,3) |
		while read -r type mode path target; do
			case $type in
			d) echo "dir $path $mode 0 0" ;;
			f) echo "file $path $1$path $mode 0 0" ;;
			l) echo "slink $path $target 777 0 0" ;;
			*) die "initramfs: unsupported file type '$type' for $path" ;;
			esac
		done
	echo "nod /dev/console 600 0 0 c 5 1"
	echo "nod /dev/null 666 0 0 c 1 3"
}

step_initramfs() {
	local dir=$BUILD/initramfs
	INITRAMFS_HASH=$({
		echo "$BUSYBOX_HASH $PROGRAMS_HASH $EPOCH"
		cat "$INIT" "$BB/src/examples/udhcp/simple.script" "$KSRC/usr/gen_init_cpio.c"
		declare -f initramfs_tree initramfs_spec step_initramfs
	} | short_hash)
	if is_fresh "$dir/.vireo-hash" "$INITRAMFS_HASH" && [[ -f $OUT/initramfs.cpio.gz ]] &&
		cmp -s "$dir/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"; then
		log "initramfs: up to date ($INITRAMFS_HASH)"
		return
	fi
	mkdir -p "$dir"
	rm -f "$dir/.vireo-hash"
	gcc -O2 -o "$dir/gen_init_cpio" "$KSRC/usr/gen_init_cpio.c"
	initramfs_tree "$dir/root"
	initramfs_spec "$dir/root" >"$dir/spec"
	"$dir/gen_init_cpio" -t "$EPOCH" "$dir/spec" >"$dir/initramfs.cpio"
	gzip -9 -n -c "$dir/initramfs.cpio" >"$dir/initramfs.cpio.gz"
	cp "$dir/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz.tmp"
	mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
	echo "$INITRAMFS_HASH" >"$dir/.vireo-hash"
	log "initramfs: packed $(grep -c . "$dir/spec") entries ($(du -h "$OUT/initramfs.cpio.gz" | cut -f1) gzip)"
}

# ------------------------------------------------------------------- fio

# fio for the virtio-blk benchmark (bench/blk.py): Debian's fio source
# package, static. It is not in the initramfs (it would slow every test
# boot); the benchmark appends its own small cpio holding /bin/fio.
FIO=$BUILD/fio
# The guest kernel has no SysV IPC (--disable-shm: fio then runs its jobs as
# threads) and no io_uring; the benchmark uses the psync engine. Optional
# libraries are turned off, so the result does not depend on which -dev
# packages the host has; zlib and libaio have no switch, and are only used
# if riscv64 builds of them are installed (zlib1g-dev:riscv64, libaio-dev:riscv64).
FIO_CONFIGURE=(--cc="${CROSS}gcc" --cpu=riscv64 --build-static --disable-native --disable-shm
	--disable-numa --disable-rdma --disable-rados --disable-rbd --disable-http --disable-gfapi
	--disable-pmem --disable-xnvme --disable-libzbc --disable-tcmalloc --disable-dfs
	--disable-lex --disable-libnfs)

fio_build() {
	# fio only builds in its source tree; a fresh copy on any change (the
	# build takes seconds).
	rm -rf "$FIO/obj" "$FIO/out"
	cp -a "$FIO/src" "$FIO/obj"
	mkdir -p "$FIO/out"
	: >"$LOGS/fio.log"
	run_logged "$LOGS/fio.log" env -C "$FIO/obj" ./configure "${FIO_CONFIGURE[@]}"
	log "fio: make -j$JOBS (log: $LOGS/fio.log)"
	run_logged "$LOGS/fio.log" make -C "$FIO/obj" -j"$JOBS" fio
	if "${CROSS}readelf" -l "$FIO/obj/fio" | grep -q INTERP; then
		die "fio is not static"
	fi
	"${CROSS}strip" -o "$FIO/out/fio" "$FIO/obj/fio"
}

step_fio() {
	deb_source_fetch fio "$FIO"
	deb_source_extract fio "$FIO"
	FIO_VERSION=$SOURCE_VERSION
	FIO_HASH=$({
		echo "fio $FIO_VERSION"
		toolchain_id
		echo "${FIO_CONFIGURE[*]}"
		declare -f fio_build
	} | short_hash)
	if is_fresh "$FIO/out/.vireo-hash" "$FIO_HASH" && [[ -x $FIO/out/fio ]] &&
		cmp -s "$FIO/out/fio" "$OUT/fio"; then
		log "fio: up to date ($FIO_VERSION, $FIO_HASH)"
		return
	fi
	log "fio: configuring $FIO_VERSION"
	fio_build
	echo "$FIO_HASH" >"$FIO/out/.vireo-hash"
	cp "$FIO/out/fio" "$OUT/fio.tmp"
	mv "$OUT/fio.tmp" "$OUT/fio"
	log "fio: built $(du -h "$OUT/fio" | cut -f1) static binary"
}

# ------------------------------------------------------------------ main

preflight
mkdir -p "$OUT" "$BUILD" "$LOGS"
# Serialize concurrent invocations (tests and engineers share the cache).
exec 9>"$CACHE/.build-guest.lock"
if ! flock -n 9; then
	log "waiting for another build-guest.sh run to finish"
	flock 9
fi
log "cache: $CACHE (jobs: $JOBS)"

step_kernel
step_busybox
step_programs
step_initramfs
step_fio

# The stamp summarises what the outputs were built from; it is only
# rewritten when that changes, so its mtime is usable as a dependency.
stamp=$(
	echo "kernel $KERNEL_HASH $LINUX_PKG $(cat "$KSRC/.vireo-version")"
	echo "busybox $BUSYBOX_HASH $BUSYBOX_VERSION"
	echo "programs $PROGRAMS_HASH"
	echo "initramfs $INITRAMFS_HASH"
	echo "fio $FIO_HASH $FIO_VERSION"
	(cd "$OUT" && sha256sum Image initramfs.cpio.gz fio)
)
if [[ ! -f $OUT/stamp || "$(cat "$OUT/stamp")" != "$stamp" ]]; then
	echo "$stamp" >"$OUT/stamp"
fi

log "outputs in $OUT:"
for f in Image initramfs.cpio.gz fio stamp; do
	printf 'build-guest:   %-18s %9s bytes\n' "$f" "$(stat -c %s "$OUT/$f")"
done
