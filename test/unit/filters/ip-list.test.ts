import t from 'tap'
import { addressAllowed, IpList, parseRange } from '../../../lib/filters/ip-list'

t.test('parseRange takes CIDRs and addresses, strict IPv4, mapped IPv6 as IPv4', async t => {
  t.same(parseRange('10.0.0.0/8')?.map(String), ['10.0.0.0', '8'])
  t.same(parseRange('10.1.2.3')?.map(String), ['10.1.2.3', '32'])
  t.same(parseRange('2001:db8::/32')?.map(String), ['2001:db8::', '32'])
  t.same(parseRange('::1')?.map(String), ['::1', '128'])
  t.same(parseRange('::ffff:10.0.0.0/104')?.map(String), ['10.0.0.0', '8'])
  for (const bad of ['10.1', '0x0a.0.0.1', '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', 'fe80::1%eth0', 'localhost', '', '10.0.0.0/8/8']) {
    t.equal(parseRange(bad), undefined, bad)
  }
})

t.test('matching: IPv4, IPv6, mapped clients; deny wins; an empty allow lets all in', async t => {
  const allow = new IpList(['10.0.0.0/8', '2001:db8::/32'])
  const deny = new IpList(['10.1.2.3', '2001:db8:dead::/48'])
  const none = new IpList([])
  t.ok(addressAllowed('10.9.9.9', allow, deny))
  t.notOk(addressAllowed('10.1.2.3', allow, deny))
  t.ok(addressAllowed('::ffff:10.9.9.9', allow, deny), 'an IPv4-mapped client matches the IPv4 range')
  t.notOk(addressAllowed('::ffff:10.1.2.3', allow, deny))
  t.ok(addressAllowed('2001:db8::1', allow, deny))
  t.notOk(addressAllowed('2001:db8:dead::1', allow, deny))
  t.notOk(addressAllowed('192.168.0.1', allow, deny))
  t.notOk(addressAllowed('not an address', allow, none), 'an unreadable address is not allowed by a list')
  t.ok(addressAllowed('192.168.0.1', none, deny))
  t.notOk(addressAllowed('10.1.2.3', none, deny))
  t.notOk(new IpList(['10.0.0.0/8']).has('::a00:1'), 'an IPv6 address is not in an IPv4 range unless mapped')
})
