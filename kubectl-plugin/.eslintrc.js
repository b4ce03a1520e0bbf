module.exports = require('@backstage/cli/config/eslint-factory')(__dirname, {
  rules: {
    // expectGolden asserts (src/testing/golden.ts).
    'jest/expect-expect': [
      'warn',
      { assertFunctionNames: ['expect', 'expectGolden'] },
    ],
  },
});
