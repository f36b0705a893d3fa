import t from 'tap'
import bcrypt from 'bcryptjs'
import { BasicAuth, bcryptHashProblem, parseBasic } from '../../../lib/filters/basic-auth'
import { parseSize } from '../../../lib/config/size'

t.test('parseBasic', async t => {
  const b64 = (s: string) => Buffer.from(s).toString('base64')
  t.same(parseBasic(`Basic ${b64('alice:pa:ss')}`), { user: 'alice', password: 'pa:ss' }, 'the password starts after the first colon')
  t.same(parseBasic(`basic ${b64('é:ü')}`), { user: 'é', password: 'ü' }, 'scheme case-insensitive, UTF-8')
  t.equal(parseBasic(`Basic ${b64('nocolon')}`), undefined)
  t.equal(parseBasic('Bearer x'), undefined)
  t.equal(parseBasic('Basic !!!'), undefined)
  t.equal(parseBasic(undefined), undefined)
})

t.test('BasicAuth.verify', async t => {
  const auth = new BasicAuth({ alice: bcrypt.hashSync('pw', 4) })
  const h = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`
  t.equal(await auth.verify(h('alice', 'pw')), 'alice')
  t.equal(await auth.verify(h('alice', 'pw')), 'alice', 'cached')
  t.equal(await auth.verify(h('alice', 'PW')), null)
  t.equal(await auth.verify(h('bob', 'pw')), null)
  t.equal(bcryptHashProblem(bcrypt.hashSync('x', 4)), undefined)
  t.ok(bcryptHashProblem('$1$md5crypt'))
})

t.test('parseSize', async t => {
  t.equal(parseSize(10), 10)
  t.equal(parseSize('512B'), 512)
  t.equal(parseSize('1.5KB'), 1536)
  t.equal(parseSize('10MB'), 10 * 1024 * 1024)
  t.equal(parseSize('1GiB'), 1024 ** 3)
  t.throws(() => parseSize('10 MB'))
})
