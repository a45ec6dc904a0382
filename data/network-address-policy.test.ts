import { describe, expect, it } from 'vitest';
import { isNonPublicAddress, networkList } from './network-address-policy.js';

describe('isNonPublicAddress', () => {
  it.each([
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '0.0.0.0', '100.64.0.1',
    '::1', '::', 'fc00::1', 'fd12:3456::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1',
  ])('refuses %s', (address) => {
    expect(isNonPublicAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'allows the public address %s',
    (address) => {
      expect(isNonPublicAddress(address)).toBe(false);
    },
  );

  it('refuses anything that is not an IP literal', () => {
    expect(isNonPublicAddress('example.com')).toBe(true);
  });
});

describe('networkList', () => {
  it('matches addresses inside the listed CIDRs only', () => {
    const list = networkList(['127.0.0.1/32', '10.1.0.0/16', 'fd00::/8']);
    expect(list.includes('127.0.0.1')).toBe(true);
    expect(list.includes('127.0.0.2')).toBe(false);
    expect(list.includes('10.1.200.3')).toBe(true);
    expect(list.includes('10.2.0.1')).toBe(false);
    expect(list.includes('fd00::5')).toBe(true);
    expect(list.includes('::ffff:127.0.0.1')).toBe(true);
  });

  it('rejects a malformed network', () => {
    expect(() => networkList(['not-an-ip/8'])).toThrow(/not an IP network/);
  });
});
