# Sourced by tests/run.sh, examples/demo.sh and bench/run.sh: installs the Debian 12 packages a
# step needs, and only those that are missing. Needs root (or sudo-less root shell) to install.
#   treecrdt_install_deps core|tests|bench ...
_treecrdt_pkgs_core="cmake ninja-build g++ libboost-dev libsqlite3-dev nlohmann-json3-dev"
_treecrdt_pkgs_tests="catch2 librapidcheck-dev libpq-dev postgresql-15 clang libclang-rt-14-dev clang-format"
_treecrdt_pkgs_bench="libbenchmark-dev libpq-dev postgresql-15 gnuplot-nox python3"

treecrdt_install_deps() {
  local wanted="" group pkg missing=""
  for group in "$@"; do
    case "$group" in
      core) wanted="$wanted $_treecrdt_pkgs_core" ;;
      tests) wanted="$wanted $_treecrdt_pkgs_core $_treecrdt_pkgs_tests" ;;
      bench) wanted="$wanted $_treecrdt_pkgs_core $_treecrdt_pkgs_bench" ;;
      *) echo "treecrdt_install_deps: unknown group '$group'" >&2; return 2 ;;
    esac
  done
  for pkg in $wanted; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
    fi
  done
  if [ -z "$missing" ]; then
    echo "deps: all present"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages:$missing — run as root, or install them and retry" >&2
    return 1
  fi
  echo "deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
