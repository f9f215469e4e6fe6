#!/usr/bin/env bash
# The package as people install it: `npm pack`, then `npm install -g` of the
# tarball into a temporary prefix (production dependencies only), then from
# there: --version, init, start, status, stop, and `server setup --dry-run`,
# whose unit must pass `systemd-analyze verify` and whose firewall rule must
# name the chosen port. Also `npx` of the tarball. Run by .ci/run; needs the
# npm registry (or its cache: --prefer-offline) and systemd-analyze.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d "${TMPDIR:-/tmp}/sealsync-package-XXXXXX")"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then kill -9 "$daemon_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "package-check: $*" >&2; exit 1; }
step() { echo "package-check: $*"; }

step "npm pack"
npm pack --pack-destination "$work" --silent >"$work/pack.out"
tarball="$work/$(tail -n 1 "$work/pack.out")"
[ -f "$tarball" ] || fail "npm pack made no tarball"
tar -tzf "$tarball" | sed 's#^package/##' | sort >"$work/files"
for want in bin/sealsync.js dist/cli/main.js dist/api/daemon-host.js web/dist/index.html contrib/sealsync.service package.json README.md; do
  grep -qx "$want" "$work/files" || fail "the tarball lacks $want"
done
if grep -E '(^|/)(src|test|bench|scripts|node_modules)/|\.test\.|/testing/|test-data|test-helpers|-child\.js$|\.map$|\.ts$' "$work/files"; then
  fail "the tarball holds sources or test support files (above)"
fi
step "$(wc -l <"$work/files") files, $(du -k "$tarball" | cut -f1) KiB"

step "npm install -g into a temporary prefix"
prefix="$work/prefix"
npm install -g --prefix "$prefix" --prefer-offline --no-audit --no-fund --loglevel=error "$tarball"
installed="$prefix/lib/node_modules/sealsync"
for dev in vite eslint typescript tsx playwright-core preact @types/node; do
  [ ! -e "$installed/node_modules/$dev" ] && [ ! -e "$prefix/lib/node_modules/$dev" ] || fail "a dev dependency was installed: $dev"
done
# Every installed package must run on the oldest Node we promise (package.json
# "engines"): one that asks for a newer Node makes `engine-strict` installs fail.
node scripts/check-engines.mjs "$installed" || fail "an installed package needs a newer Node than sealsync promises (above)"
bin="$prefix/bin/sealsync"
[ -x "$bin" ] || fail "no sealsync on the prefix's PATH"

version="$(node -p 'require("./package.json").version')"
[ "$("$bin" --version)" = "$version" ] || fail "--version does not print $version"

step "init, start, status, stop from the installed package"
home="$work/home"
"$bin" --home "$home" init --name package-check --listen 127.0.0.1:0 --ui-listen 127.0.0.1:0 --no-discovery >"$work/init.out"
"$bin" --home "$home" start >"$work/daemon.log" 2>&1 &
daemon_pid=$!
ready=""
for _ in $(seq 1 120); do
  if "$bin" --home "$home" status --json >"$work/status.json" 2>/dev/null; then ready=1; break; fi
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; fail "the daemon exited"; }
  sleep 0.5
done
[ -n "$ready" ] || { cat "$work/daemon.log" >&2; fail "the daemon did not answer within 60 s"; }
node -e '
  const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (s.device.name !== "package-check" || !/^http:\/\/127\.0\.0\.1:\d+/.test(s.ui?.url ?? "")) process.exit(1);
' "$work/status.json" || fail "status --json does not show the device and its dashboard"
# The dashboard comes from web/dist in the package.
ui_url="$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).ui.url' "$work/status.json")"
node -e 'fetch(process.argv[1]).then(async (r) => { const t = await r.text(); process.exit(r.ok && t.includes("<html") ? 0 : 1); }, () => process.exit(1))' "$ui_url/" \
  || fail "the installed dashboard does not serve its page"
"$bin" --home "$home" stop >/dev/null
wait "$daemon_pid" || fail "the daemon exited non-zero after stop"
daemon_pid=""

step "server setup --dry-run from the installed package"
"$bin" server setup --dry-run --json >"$work/plan.json"
mkdir "$work/unit"
node -e '
  const fs = require("fs");
  const plan = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  fs.writeFileSync(process.argv[2] + "/sealsync.service", plan.unit.text);
  fs.writeFileSync(process.argv[2] + "/port", String(plan.syncPort));
  fs.writeFileSync(process.argv[2] + "/ufw", plan.firewall.ufw);
' "$work/plan.json" "$work/unit"
grep -q "^ExecStart=$(command -v node) $installed/bin/sealsync.js --home /var/lib/sealsync start$" "$work/unit/sealsync.service" \
  || fail "the unit does not run the installed sealsync: $(grep '^ExecStart=' "$work/unit/sealsync.service")"
verify_out="$(systemd-analyze verify "$work/unit/sealsync.service" 2>&1)" || fail "systemd-analyze verify failed: $verify_out"
[ -z "$verify_out" ] || fail "systemd-analyze verify warned: $verify_out"
port="$(cat "$work/unit/port")"
[ "$(cat "$work/unit/ufw")" = "ufw allow $port/tcp comment 'sealsync'" ] || fail "no firewall rule for port $port"
"$bin" server setup --dry-run >"$work/plan.txt"
# (each dry run on a new home picks its own random port)
grep -q "^     ufw:       sudo ufw allow [0-9]*/tcp comment 'sealsync'$" "$work/plan.txt" || fail "the human dry run shows no firewall rule"
grep -q '^ExecStart=' "$work/plan.txt" || fail "the human dry run shows no unit"

step "npx of the tarball"
npx_out="$(cd "$work" && npm exec --yes --prefer-offline --package="$tarball" -- sealsync --version)"
[ "$npx_out" = "$version" ] || fail "npx of the tarball printed '$npx_out'"

step "ok"
