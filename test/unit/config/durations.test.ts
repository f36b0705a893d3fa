import t from 'tap'
import { parseDuration } from '../../../lib/config/duration'
import { normalizeConfig } from '../../../lib/config'

// A duration goes through the schema (which refuses a bad shape, naming the field) and then
// parseDuration; both are checked here through normalizeConfig, as a config file is.
const withConnect = (connect: unknown) => ({
  upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }], timeouts: { connect } } },
  routes: [{ match: { path: '/*' }, upstream: 'api' }]
})

const connectOf = (value: unknown) => normalizeConfig(withConnect(value), { env: {} }).upstreams.get('api')?.timeouts.connect

t.test('accepted forms and their value in milliseconds', async t => {
  const cases: Array<[number | string, number]> = [
    [1500, 1500],
    [0, 0],
    ['1500', 1500],
    ['500ms', 500],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['1d2h3m4s5ms', 86_400_000 + 7_200_000 + 180_000 + 4_000 + 5],
    ['1s500ms', 1500],
    ['0.5d', 43_200_000]
  ]
  for (const [value, expected] of cases) {
    t.equal(parseDuration(value), expected, `parseDuration(${JSON.stringify(value)})`)
    t.equal(connectOf(value), expected, `config ${JSON.stringify(value)}`)
  }
})

t.test('refused forms: spaces anywhere, unknown or repeated units, wrong order, empty', async t => {
  const refused = ['2 s', ' 2s', '2s ', '1h 30m', '', ' ', '2x', '2sec', 'ms', '1m1h', '1s1s', '-1s', '1.s', '.5s', '1,5s', '2S']
  for (const value of refused) {
    t.throws(() => parseDuration(value), /not a duration/, `parseDuration(${JSON.stringify(value)})`)
    t.throws(() => connectOf(value), /upstreams\.api\.timeouts\.connect: must be a duration/, `config ${JSON.stringify(value)}`)
  }
})
