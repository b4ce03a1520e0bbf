/**
 * Checksums on objects uploaded the way today's AWS SDK uploads them, against a real versitygw
 * (the shared suite in __testUtils__/integrity.ts).
 */
import { describeIntegrity } from './__testUtils__/integrity';

jest.setTimeout(180_000);

describeIntegrity('versitygw', 'iv');
