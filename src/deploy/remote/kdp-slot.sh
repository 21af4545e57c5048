#!/bin/sh
# kdp-slot.sh — board-side entry point run by `kdp flash` / `kdp rollback` over SSH.
# Uses `node kdp-slot.mjs` when Node is on the board (full check of manifest.json + model);
# otherwise falls back to openssl (ed25519 signature over the uploaded canonical payload) + sha256sum.
# Usage: sh kdp-slot.sh activate ROOT SLOT | rollback ROOT | status ROOT
# Exit 0 ok, 3 integrity failure (nothing changed), 4 other error. One JSON line on stdout.
set -u
cmd=${1:-}; root=${2:-}; slot=${3:-}
here=$(dirname "$0")
if [ -z "${KDP_SLOT_NO_NODE:-}" ] && command -v "${KDP_NODE:-node}" >/dev/null 2>&1; then
  case "$cmd" in
    activate) exec "${KDP_NODE:-node}" "$here/kdp-slot.mjs" activate --root "$root" --slot "$slot" ;;
    *) exec "${KDP_NODE:-node}" "$here/kdp-slot.mjs" "$cmd" --root "$root" ;;
  esac
fi

json_err() { # $1 integrity(true|false) $2 message
  msg=$(printf '%s' "$2" | sed 's/\\/\\\\/g; s/"/\\"/g')
  printf '{"ok":false,"integrity":%s,"error":"%s","verifier":"shell"}\n' "$1" "$msg"
}
integrity_fail() { rm -rf "$root/staging/$slot"; json_err true "$1"; exit 3; }
swap_link() { # $1 name $2 target
  tmp="$root/.$1.$$.tmp"; rm -f "$tmp"; ln -s "$2" "$tmp" && mv -T "$tmp" "$root/$1"
}
# Scalar fields of a canonical JSON document (one line, no whitespace) at depth 1 and 2, as key=value or
# parent.key=value lines; arrays and deeper objects are skipped. A character walk (strings with escapes,
# nesting), so fields may come in any order and nested objects cannot confuse it. POSIX awk (busybox, mawk).
json_fields() {
  awk '
  function emit(v,   p, k) { if (depth > 2 || arr[depth]) return; p = key[1]; for (k = 2; k <= depth; k++) p = p "." key[k]; print p "=" v }
  {
    s = $0; n = length(s); depth = 0; i = 1
    while (i <= n) {
      c = substr(s, i, 1)
      if (c == "{") { depth++; arr[depth] = 0; want[depth] = 1; i++; continue }
      if (c == "[") { depth++; arr[depth] = 1; i++; continue }
      if (c == "}" || c == "]") { depth--; i++; continue }
      if (c == ",") { if (!arr[depth]) want[depth] = 1; i++; continue }
      if (c == ":") { want[depth] = 0; i++; continue }
      if (c == "\"") {
        j = i + 1; str = ""
        while (j <= n) { d = substr(s, j, 1); if (d == "\\") { str = str substr(s, j, 2); j += 2; continue } if (d == "\"") break; str = str d; j++ }
        if (j > n) exit 1
        i = j + 1
        if (!arr[depth] && want[depth]) key[depth] = str; else emit(str)
        continue
      }
      j = i; while (j <= n && index(",}]", substr(s, j, 1)) == 0) j++
      if (j == i) exit 1
      emit(substr(s, i, j - i)); i = j
    }
    if (depth != 0) exit 1
  }'
}
field() { # $1 dotted name, $2 basic regex the whole value must match; prints the value or nothing
  printf '%s\n' "$fields" | sed -n "s/^$(printf '%s' "$1" | sed 's/\./\\./g')=\($2\)\$/\1/p" | head -n 1
}
check_file() { # $1 dir $2 file $3 sha256 $4 bytes
  [ -f "$1/$2" ] && [ ! -L "$1/$2" ] || return 14
  got=$(sha256sum "$1/$2" | cut -d' ' -f1)
  [ "$got" = "$3" ] || return 15
  size=$(wc -c < "$1/$2" | tr -d ' ')
  [ "$size" = "$4" ] || return 15
  return 0
}
verify_dir() { # $1 dir (must hold .kdp-verify/payload.json + signature.bin); sets vsha vfile vversion
  d=$1; p="$d/.kdp-verify/payload.json"; s="$d/.kdp-verify/signature.bin"
  [ -f "$p" ] && [ -f "$s" ] || return 10
  command -v openssl >/dev/null 2>&1 || return 11
  ok=
  for k in "$root"/trusted_keys/*.pub; do
    [ -f "$k" ] || continue
    if openssl pkeyutl -verify -pubin -inkey "$k" -rawin -in "$p" -sigfile "$s" >/dev/null 2>&1; then ok=1; break; fi
  done
  [ -n "$ok" ] || return 12
  fields=$(json_fields < "$p") || return 13
  vbytes=$(field model.bytes '[0-9][0-9]*'); vfile=$(field model.file '[A-Za-z0-9_-][A-Za-z0-9._-]*'); vsha=$(field model.sha256 '[0-9a-f]\{64\}')
  [ -n "$vbytes" ] && [ -n "$vfile" ] && [ -n "$vsha" ] || return 13
  vversion=$(field modelVersion '[0-9][0-9]*'); vversion=${vversion:-0}
  check_file "$d" "$vfile" "$vsha" "$vbytes" || return $?
  # every other top-level entry that names a file (the learned plan scorer, ...) is checked the same way
  seen=" $vfile "
  for role in $(printf '%s\n' "$fields" | sed -n 's/^\([A-Za-z0-9_]*\)\.file=.*/\1/p'); do
    [ "$role" = model ] && continue
    sbytes=$(field "$role.bytes" '[0-9][0-9]*'); sfile=$(field "$role.file" '[A-Za-z0-9_-][A-Za-z0-9._-]*'); ssha=$(field "$role.sha256" '[0-9a-f]\{64\}')
    [ -n "$sbytes" ] && [ -n "$sfile" ] && [ -n "$ssha" ] || return 13
    case "$seen" in *" $sfile "*) return 13;; esac
    seen="$seen$sfile "
    check_file "$d" "$sfile" "$ssha" "$sbytes" || return $?
  done
  return 0
}
explain() {
  case $1 in
    10) echo "no .kdp-verify/payload.json + signature.bin in the slot (needed without node)";;
    11) echo "neither node nor openssl on the board: cannot verify";;
    12) echo "BAD SIGNATURE or signed by a key not in $root/trusted_keys";;
    13) echo "cannot read file/sha256/bytes of the model (or another file it names) from the signed payload";;
    14) echo "model file (or another file the manifest names) missing";;
    15) echo "sha256/size of the model (or another file the manifest names) does not match the signed manifest (tampered or truncated)";;
    16) echo "model version $vversion is older than version $floor this board already ran (replay of an older model?); use kdp rollback to go back on purpose";;
  esac
}

case "$cmd" in
  activate)
    case "$slot" in ''|.*|*/*) json_err false "bad slot name"; exit 4;; esac
    verify_dir "$root/staging/$slot"; rc=$?
    [ $rc -eq 0 ] || integrity_fail "$root/staging/$slot: $(explain $rc)"
    floor=$(cat "$root/version-floor" 2>/dev/null | tr -cd '0-9'); floor=${floor:-0}
    [ "$vversion" -ge "$floor" ] 2>/dev/null || integrity_fail "$root/staging/$slot: $(explain 16)"
    mkdir -p "$root/slots" && rm -rf "$root/slots/$slot" && mv "$root/staging/$slot" "$root/slots/$slot" || { json_err false "cannot move slot"; exit 4; }
    before=$(readlink "$root/active" 2>/dev/null || true)
    if [ -n "$before" ] && [ "${before##*/}" != "$slot" ]; then swap_link previous "$before"; fi
    swap_link active "slots/$slot" || { json_err false "cannot switch active"; exit 4; }
    prev=$(readlink "$root/previous" 2>/dev/null || true); prev=${prev##*/}
    for s in "$root"/slots/*; do n=${s##*/}; [ "$n" = "$slot" ] || [ "$n" = "$prev" ] || rm -rf "$s"; done
    rm -rf "$root"/staging/*
    if [ "$vversion" -gt "$floor" ]; then printf '%s\n' "$vversion" > "$root/.version-floor.$$" && mv "$root/.version-floor.$$" "$root/version-floor"; fi
    printf '{"ok":true,"action":"activate","active":"%s","previous":"%s","sha256":"%s","verifier":"shell"}\n' "$slot" "$prev" "$vsha"
    ;;
  rollback)
    prev=$(readlink "$root/previous" 2>/dev/null || true)
    [ -n "$prev" ] || { json_err false "$root: no previous slot to roll back to"; exit 4; }
    cur=$(readlink "$root/active" 2>/dev/null || true)
    verify_dir "$root/$prev"; rc=$?
    [ $rc -eq 0 ] || { json_err true "$root/$prev: $(explain $rc)"; exit 3; }
    swap_link active "$prev" || exit 4
    [ -z "$cur" ] || swap_link previous "$cur"
    printf '{"ok":true,"action":"rollback","active":"%s","previous":"%s","sha256":"%s","verifier":"shell"}\n' "${prev##*/}" "${cur##*/}" "$vsha"
    ;;
  status)
    a=$(readlink "$root/active" 2>/dev/null || true); p=$(readlink "$root/previous" 2>/dev/null || true)
    printf '{"ok":true,"action":"status","active":"%s","previous":"%s","verifier":"shell"}\n' "${a##*/}" "${p##*/}"
    ;;
  *) json_err false "unknown command '$cmd' (activate|rollback|status)"; exit 4 ;;
esac
