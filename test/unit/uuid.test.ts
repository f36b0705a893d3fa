import t from 'tap'
import { uuid } from '../../lib/ids/uuid'

t.test('uuid: RFC 9562 version 4 ids, lower-case hex, none repeated across several refills of its random batch', async t => {
  const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
  const seen = new Set<string>()
  let bad = 0
  for (let i = 0; i < 5000; i++) {
    const id = uuid()
    if (!v4.test(id)) bad++
    seen.add(id)
  }
  t.equal(bad, 0, 'every id has the version and variant bits and the 8-4-4-4-12 shape')
  t.equal(seen.size, 5000, 'no id twice')
  const a = uuid()
  const b = uuid()
  t.not(a, b, 'the string returned is not the buffer reused for the next one')
  t.equal(a.length, 36)
})
