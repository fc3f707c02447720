import { describeParity } from './helpers/parity';

describeParity('regression');
