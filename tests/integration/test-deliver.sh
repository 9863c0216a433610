#!/bin/bash
# corral deliver: byte-exact, durable MDA delivery; exit codes.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
mktest

write_config "$T/config.yml" <<YML
maildir: $T/Maildir
YML

# Every test message is delivered byte-identical into INBOX.
n=0 bad=0
for f in tests/data/msg/*.eml; do
	[ -f "$f" ] || continue
	[ -s "$f" ] || continue # empty input is refused (65), checked below
	n=$((n + 1))
	before=$(ls "$T/Maildir/new" 2>/dev/null | sort)
	if ! "$CORRAL" -c "$T/config.yml" deliver < "$f"; then
		bad=$((bad + 1))
		echo "# deliver failed: $f"
		continue
	fi
	new=$(comm -13 <(echo "$before") <(ls "$T/Maildir/new" | sort))
	if [ "$(echo "$new" | wc -l)" -ne 1 ] || ! cmp -s "$f" "$T/Maildir/new/$new"; then
		bad=$((bad + 1))
		echo "# not byte-identical: $f -> $new"
	fi
done
check "each of $n test messages delivered byte-identical" test "$n" -ge 40 -a "$bad" -eq 0

# The name is spec-unique and carries the size.
name=$(ls "$T/Maildir/new" | head -1)
size=$(stat -c %s "$T/Maildir/new/$name")
check "file name carries ,S=size and ,W=" bash -c "[[ '$name' =~ ,S=$size,W=[0-9]+\$ ]]"
check "tmp/ is empty after deliveries" bash -c "test -d '$T/Maildir/tmp' && test -z \"\$(ls -A '$T/Maildir/tmp')\""

# Concurrent deliveries: all arrive, distinct names.
before=$(ls "$T/Maildir/new" | wc -l)
for i in $(seq 1 20); do
	printf 'From: a@b\nSubject: c%s\n\nbody %s\n' "$i" "$i" | "$CORRAL" -c "$T/config.yml" deliver &
done
wait
after=$(ls "$T/Maildir/new" | wc -l)
check "20 concurrent deliveries give 20 files" test $((after - before)) -eq 20

# A message without a final newline, and one with NUL bytes.
printf 'Subject: x\n\nno newline' > "$T/nonl"
"$CORRAL" -c "$T/config.yml" deliver < "$T/nonl"
check "message without final newline kept exactly" bash -c "cmp -s '$T/nonl' \"\$(ls -t '$T'/Maildir/new/* | head -1)\""

# Exit codes.
"$CORRAL" -c "$T/config.yml" deliver < /dev/null 2>/dev/null
check "empty input exits 65" test $? -eq 65
# An MTA bounces on 64 and 78 (Postfix: 5.3.0, 5.3.5): a mistake in its
# command line or a missing config keeps the message queued instead (75).
"$CORRAL" -c "$T/config.yml" deliver --bogus < "$T/nonl" 2>/dev/null
check "unknown option exits 75 (the MTA keeps the message)" test $? -eq 75
"$CORRAL" -c "$T/nonexistent.yml" deliver < "$T/nonl" 2>"$T/err"
check "missing config exits 75 (the MTA keeps the message)" test $? -eq 75
check "missing config is named in the error" grep -q "nonexistent.yml" "$T/err"
"$CORRAL" bogus-command 2>/dev/null
check "unknown command exits 64" test $? -eq 64
"$CORRAL" --version | grep -q '^corral '
check "--version prints the version" test $? -eq 0

# A Maildir that cannot be created is a temporary failure: the MTA retries.
echo file > "$T/notadir"
write_config "$T/bad.yml" <<YML
maildir: $T/notadir/Maildir
YML
"$CORRAL" -c "$T/bad.yml" deliver < "$T/nonl" 2>/dev/null
check "unwritable Maildir exits 75" test $? -eq 75

finish
