#!/usr/bin/env bash
# The check step of action.yml: kubectl otter egress diff on the pull request's intents, as
# GitHub annotations (and the Markdown report in the job summary), exiting 1 on failing drift.
# Inputs come as INPUT_* variables; OTTER_PLUGIN overrides the plugin's command (tests).
set -euo pipefail

if [[ -n "${OTTER_PLUGIN:-}" ]]; then
  read -r -a plugin <<<"$OTTER_PLUGIN"
else
  plugin=(kubectl-otter) # the install step put the released binary on PATH
fi

: "${INPUT_INTENTS:?the intents input is required}"
: "${INPUT_SNAPSHOT:?the snapshot input is required}"

args=(egress diff --observed "$INPUT_SNAPSHOT" --window "${INPUT_WINDOW:-168h}"
  --fail-on "${INPUT_FAIL_ON:-missing,unnecessary}")
# Paths are separated by spaces or new lines (none of them may contain either); no globbing.
read -r -d '' -a intents <<<"$INPUT_INTENTS" || true
read -r -d '' -a base <<<"${INPUT_BASE:-}" || true
for path in "${intents[@]}"; do args+=(--intents "$path"); done
for path in "${base[@]}"; do args+=(--base "$path"); done

if [[ -n "${INPUT_SARIF_FILE:-}" ]]; then
  # The SARIF file is written whatever the verdict; only a usage or input error (2) stops here.
  status=0
  "${plugin[@]}" "${args[@]}" -o sarif >"$INPUT_SARIF_FILE" || status=$?
  if ((status > 1)); then exit "$status"; fi
fi

exec "${plugin[@]}" "${args[@]}" -o github
