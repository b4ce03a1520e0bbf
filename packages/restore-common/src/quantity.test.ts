import { bytesToGiQuantity, formatBytes, parseQuantity } from './quantity';

describe('parseQuantity', () => {
  it.each([
    ['1', 1],
    ['10Gi', 10 * 2 ** 30],
    ['1.5Ti', 1.5 * 2 ** 40],
    ['512Mi', 512 * 2 ** 20],
    ['100G', 100e9],
    ['1k', 1000],
    ['1e3', 1000],
    ['1E6', 1e6],
    ['0.5Ki', 512],
    ['1.0001', 2],
    ['.5Gi', 2 ** 29],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseQuantity(text)).toBe(bytes);
  });

  it.each([
    '',
    'Gi',
    '10GB',
    '10 Gi',
    '-1Gi',
    '100m',
    '1.2.3',
    'auto',
    '10gi',
    '9Ei',
  ])('rejects %j', text => {
    expect(() => parseQuantity(text)).toThrow(`invalid quantity "${text}"`);
  });
});

describe('bytesToGiQuantity', () => {
  it.each([
    [0, '1Gi'],
    [1, '1Gi'],
    [2 ** 30, '1Gi'],
    [2 ** 30 + 1, '2Gi'],
    [10.2 * 2 ** 30, '11Gi'],
  ])('%d bytes is %s', (bytes, text) => {
    expect(bytesToGiQuantity(bytes)).toBe(text);
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [4096, '4.00 KiB'],
    [1.5 * 2 ** 30, '1.50 GiB'],
    [300 * 2 ** 20, '300 MiB'],
  ])('%d is %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
