# Source me: `. scripts/env.sh`. Installs what is missing (scripts/setup.sh) and puts the project's
# Node first on PATH in this shell, so npm, the tests and the demo all run on it.
_kr_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
if _kr_env="$(bash "$_kr_root/scripts/setup.sh")"; then
  eval "$_kr_env"
  unset _kr_root _kr_env
else
  unset _kr_root _kr_env
  echo "scripts/setup.sh failed: see its message above" >&2
  return 1 2>/dev/null || exit 1
fi
