#!/usr/bin/env bash
# The install step of action.yml: the released plugin binary (Node inside; no npm install, no
# dev tree), checked against its published sha256, unpacked into the runner's temporary folder
# and put on PATH for the following steps.
#   OTTER_VERSION      the release to install (default: the action's own version)
#   OTTER_RELEASES     where releases are (default: the project's GitHub releases; tests: file://)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${OTTER_VERSION:-}"
if [[ -z "$version" ]]; then
  version="v$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$here/package.json" | head -n 1)"
fi
releases="${OTTER_RELEASES:-https://github.com/otter-egress/otter-egress/releases/download}"
case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) platform=linux_amd64 ;;
  *)
    echo "error: no kubectl-otter release for $(uname -s)/$(uname -m)" >&2
    exit 2
    ;;
esac
archive="kubectl-otter_${platform}.tar.gz"
dir="${RUNNER_TEMP:-$(mktemp -d)}/kubectl-otter-${version}"
mkdir -p "$dir"
curl -fsL --retry 3 -o "$dir/$archive" "$releases/$version/$archive" || {
  echo "error: cannot download $releases/$version/$archive" >&2
  exit 2
}
curl -fsL --retry 3 -o "$dir/$archive.sha256" "$releases/$version/$archive.sha256" || {
  echo "error: cannot download $releases/$version/$archive.sha256" >&2
  exit 2
}
(cd "$dir" && sha256sum --check --status "$archive.sha256") || {
  echo "error: $archive does not match its published sha256" >&2
  exit 2
}
tar -xzf "$dir/$archive" -C "$dir"
rm -f "$dir/$archive" "$dir/$archive.sha256"
echo "$dir" >>"${GITHUB_PATH:-/dev/null}"
"$dir/kubectl-otter" version
