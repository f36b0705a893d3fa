import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

export const ROOT = resolve(__dirname, '..')

/**
 * The first fenced code block in `lang` under the README heading `heading` (the text after the
 * #s, exactly), as written: tests run the README's snippets from here so the two cannot drift.
 */
export function readmeBlock (heading: string, lang: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const lines = readme.split('\n')
  const at = lines.findIndex(l => /^#+ /.test(l) && l.replace(/^#+ /, '') === heading)
  if (at === -1) throw new Error(`README has no heading "${heading}"`)
  const open = lines.findIndex((l, i) => i > at && l === '```' + lang)
  const nextHeading = lines.findIndex((l, i) => i > at && /^#+ /.test(l))
  if (open === -1 || (nextHeading !== -1 && open > nextHeading)) throw new Error(`no \`\`\`${lang} block under "${heading}"`)
  const close = lines.findIndex((l, i) => i > open && l === '```')
  return lines.slice(open + 1, close).join('\n') + '\n'
}
