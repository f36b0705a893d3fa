import type { NormalizedConfig } from '../config/types'
import { countsBytes } from './fields'
import { COMBINED, templateFieldNames } from './template'

/** Whether the configured access log writes the body bytes sent, which are then counted on every answer. */
export function accessLogCountsBytes (config: NormalizedConfig): boolean {
  const { format, fields } = config.accessLog
  if (format === 'json') return fields.some(countsBytes)
  return templateFieldNames(format === 'combined' ? COMBINED : format).some(countsBytes)
}
