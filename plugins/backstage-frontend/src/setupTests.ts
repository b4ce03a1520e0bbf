import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// findBy*/waitFor wait up to 1 s by default, and a test up to 5 s; a loaded CI machine (2 cores,
// cluster suites alongside) can take longer to render a page of the app, so they wait up to 10 s
// within a 30 s test. A test still fails when what it waits for never comes.
configure({ asyncUtilTimeout: 10_000 });
jest.setTimeout(30_000);
