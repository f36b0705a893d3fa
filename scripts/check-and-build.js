'use strict'
// One TypeScript program for the whole repository (tsconfig.test.json: sources, tests, demo,
// bench), type-checked once; of it, only the files of tsconfig.json (the package's sources) are
// written to dist/. `npm test` needs both the check and dist/ (the command and package tests run
// the built gatehouse), and running tsc on each config checked the sources twice.
const ts = require('typescript')
const { rmSync } = require('node:fs')
const { resolve } = require('node:path')

function parse (file) {
  const read = ts.readConfigFile(file, ts.sys.readFile)
  if (read.error) fail([read.error])
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, resolve('.'), undefined, file)
  if (parsed.errors.length > 0) fail(parsed.errors)
  return parsed
}

function fail (diagnostics) {
  const host = { getCanonicalFileName: f => f, getCurrentDirectory: ts.sys.getCurrentDirectory, getNewLine: () => ts.sys.newLine }
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, host))
  process.exit(1)
}

const all = parse('tsconfig.test.json')
const build = parse('tsconfig.json')
const program = ts.createProgram(all.fileNames, { ...all.options, noEmit: false })
const diagnostics = ts.getPreEmitDiagnostics(program)
if (diagnostics.length > 0) fail(diagnostics)

rmSync(build.options.outDir, { recursive: true, force: true })
const shipped = new Set(build.fileNames.map(f => resolve(f)))
for (const source of program.getSourceFiles()) {
  if (!shipped.has(resolve(source.fileName))) continue
  const result = program.emit(source)
  if (result.diagnostics.length > 0) fail(result.diagnostics)
}

// tap runs its test files with the plugins it was last built with. A fresh `npm ci` ships its
// default set, TypeScript through ts-node included, and tap rebuilds to the package.json set
// (tsx, no ts-node) only once a run has started: that first run would load every test file
// through both. Rebuilding here first makes the first run the same as every later one.
const { readFileSync } = require('node:fs')
const { execFileSync } = require('node:child_process')
const builtTest = resolve('node_modules/@tapjs/test/test-built/dist/esm/index.js')
let built = ''
try { built = readFileSync(builtTest, 'utf8') } catch {}
const signature = built.slice(built.indexOf('export const signature'))
if (built === '' || signature.includes('@tapjs/typescript')) {
  execFileSync(process.execPath, [resolve('node_modules/tap/dist/esm/run.mjs'), 'build'], { stdio: 'inherit' })
}
