module.exports = require('@backstage/cli/config/eslint-factory')(__dirname, {
  rules: {
    // expectGolden asserts (src/__testUtils__/golden.ts).
    'jest/expect-expect': [
      'warn',
      { assertFunctionNames: ['expect', 'expectGolden'] },
    ],
    // The published package is the esbuild bundle (dist/), which carries core, common, yargs and the
    // rest: what the sources import are build inputs, declared as devDependencies on purpose.
    '@backstage/no-undeclared-imports': 'off',
  },
});
