import t from 'tap'
import { normalizeConfig } from '../../../lib/config'

/** The message of the ConfigError a config is refused with; fails the test when it is accepted. */
export function messageOf (config: unknown): string {
  try {
    normalizeConfig(config, { env: {} })
  } catch (err) {
    t.equal((err as { code: string }).code, 'GH_CONFIG_INVALID')
    return (err as Error).message
  }
  throw new Error('config was accepted')
}
