#!/usr/bin/env bash
# make dist: corral-VERSION.tar.gz (VERSION as corral --version says it)
# holds every tracked file and no build product; unpacked in a temporary
# directory it builds (make all unit-bins), its unit tests pass, and its own
# make dist (from its MANIFEST, no git there) makes the same file list.
# The build here is -O0 to keep the script short; make check's -O2 build of
# the same sources runs elsewhere.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
mktest
need tar make cc
src=$(cd "$here/../.." && pwd)
version=$(sed -n 's/^#define CORRAL_VERSION "\(.*\)"/\1/p' "$src/src/corral.c")
[ -n "$version" ] || setup_fail "no CORRAL_VERSION in src/corral.c"
n=corral-$version

make -s -C "$src" dist DISTDIR="$T" >"$T/dist.out" 2>&1 || setup_fail "make dist failed: $(tail -3 "$T/dist.out")"
check "make dist made $n.tar.gz" test -s "$T/$n.tar.gz"
tar -tzf "$T/$n.tar.gz" >"$T/listing" || setup_fail "tar cannot list $n.tar.gz"
check "every entry is under $n/" sh -c "! grep -qv '^$n/' '$T/listing'"

# What should be there: the tracked files (or the MANIFEST of an unpacked tarball).
if [ -f "$src/MANIFEST" ]; then
	cp "$src/MANIFEST" "$T/want.raw"
elif git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$src" ls-files >"$T/want.raw"
else
	setup_fail "neither a git checkout nor a MANIFEST: nothing to compare with"
fi
grep -v -e '__pycache__/' -e '\.pyc$' "$T/want.raw" | LC_ALL=C sort >"$T/want"
sed -n "s|^$n/||p" "$T/listing" | grep -v '/$' | grep -vx MANIFEST | LC_ALL=C sort >"$T/got"
[ -s "$T/want" ] || setup_fail "the list of tracked files is empty"
missing=$(comm -23 "$T/want" "$T/got" | head -5)
extra=$(comm -13 "$T/want" "$T/got" | head -5)
check "nothing tracked is missing ($(wc -l <"$T/want") files)${missing:+: $missing}" test -z "$missing"
check "nothing untracked is in it${extra:+: $extra}" test -z "$extra"
check "no build products (build/, the binary, objects, archives, Python caches)" \
	sh -c "! grep -qE '^$n/(build/|corral$)|\\.(o|a|d|pyc)$|__pycache__|\\.tar\\.gz$' '$T/listing'"
check "the tarball carries its MANIFEST" grep -qx "$n/MANIFEST" "$T/listing"

mkdir -p "$T/u"
tar -xzf "$T/$n.tar.gz" -C "$T/u" || setup_fail "tar cannot unpack $n.tar.gz"
cd "$T/u/$n" || setup_fail "no $n/ in the tarball"
start=$SECONDS
if make -j2 CFLAGS="-O0 -g" all unit-bins >"$T/build.log" 2>&1; then
	ok "the unpacked tarball builds: make all unit-bins ($((SECONDS - start)) s)"
else
	not_ok "the unpacked tarball builds: make all unit-bins" "$(grep -m3 -E 'error|Error' "$T/build.log")"
fi
check "its corral --version names $version" sh -c "./corral --version | grep -q '^corral $version$'"
units=0
for b in build/tests/test-*; do
	[ -x "$b" ] || continue
	units=$((units + 1))
	if "$b" >"$T/unit.out" 2>&1; then
		ok "unit tests in the tarball: ${b##*/}"
	else
		not_ok "unit tests in the tarball: ${b##*/}" "$(grep -m2 -E 'FAILED|ERROR' "$T/unit.out")"
	fi
done
[ "$units" -ge 5 ] || not_ok "the tarball built its unit tests" "only $units"
mkdir -p "$T/d2"
if make -s dist DISTDIR="$T/d2" >"$T/dist2.out" 2>&1; then
	check "make dist in the unpacked tree (from its MANIFEST) lists the same files" \
		bash -c "tar -tzf '$T/d2/$n.tar.gz' | LC_ALL=C sort | cmp -s - <(LC_ALL=C sort '$T/listing')"
else
	not_ok "make dist in the unpacked tree" "$(tail -2 "$T/dist2.out")"
fi
finish
