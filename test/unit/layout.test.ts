import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import ts from 'typescript'
import { ROOT } from '../readme'

const PLUGINS = join(ROOT, 'plugins') + sep

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** Every module a file names: static imports and re-exports, `import()`, `require()`, and `declare module` augmentations. */
function specifiers (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const info = ts.preProcessFile(text, true, true)
  const augmented = [...text.matchAll(/declare module ['"]([^'"]+)['"]/g)].map(m => m[1])
  return [...info.importedFiles.map(f => f.fileName), ...augmented]
}

/** lib/ is the framework-free layer and routes/ declares routes: what they use must not live in a plugin. */
t.test('nothing in lib/ or routes/ imports from plugins/', async t => {
  const files = [...sources(join(ROOT, 'lib')), ...sources(join(ROOT, 'routes'))]
  t.ok(files.length > 50, 'the scan sees the tree')
  const offending = files.flatMap(file => specifiers(file)
    .filter(s => s.startsWith('.') && resolve(dirname(file), s).startsWith(PLUGINS))
    .map(s => `${relative(ROOT, file)} → ${s}`))
  t.same(offending, [])
})
