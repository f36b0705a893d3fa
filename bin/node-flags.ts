// V8's heap flags for the gatehouse command, applied before anything else loads. Imported
// first by bin/gatehouse.ts for its side effect: when the flags are not in force yet, the
// process replaces itself (same pid, so signals from systemd or a container runtime still
// reach the gateway itself) with one started with them.
//
// Why: Node 24's default young generation (up to 32 MiB per semi-space, 64 MiB of new space
// on this machine's 2 GiB+) raised the gateway's peak RSS under load from about 150 MiB on
// Node 20 to 200-310 MiB. The semi-space size can only be set when the heap is made:
// v8.setFlagsFromString('--max-semi-space-size') at run time has no effect (measured), and
// NODE_OPTIONS would be the user's to set. bench/RESULTS.md has the figures behind the default.

/** Megabytes per semi-space: young-generation garbage collections stay cheap and peak RSS stays under 150 MiB. */
export const DEFAULT_SEMI_SPACE_MIB = 8
/** Replaces the default flags (an empty value: no flags, V8's own defaults). */
export const OPTIONS_ENV = 'GATEHOUSE_NODE_OPTIONS'
/** Set in the replaced process so that it does not replace itself again. */
const APPLIED_ENV = 'GATEHOUSE_NODE_FLAGS_APPLIED'

export function gatehouseNodeFlags (env: NodeJS.ProcessEnv): string[] {
  const own = env[OPTIONS_ENV]
  if (own !== undefined) return own.split(/\s+/).filter(f => f !== '')
  return [`--max-semi-space-size=${DEFAULT_SEMI_SPACE_MIB}`]
}

function applyNodeFlags (): void {
  if (process.env[APPLIED_ENV] !== undefined || typeof process.execve !== 'function') return
  const flags = gatehouseNodeFlags(process.env)
  // A semi-space size the user gave Node directly (node --max-semi-space-size=N, or
  // NODE_OPTIONS) wins over the default.
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some(a => a.includes('semi-space-size'))
  const wanted = given && process.env[OPTIONS_ENV] === undefined ? [] : flags
  if (wanted.length === 0) return
  process.execve(process.execPath, [process.execPath, ...wanted, ...process.execArgv, ...process.argv.slice(1)],
    { ...process.env, [APPLIED_ENV]: '1' })
}

applyNodeFlags()
