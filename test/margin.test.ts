import { describeParity } from './helpers/parity';

describeParity('margin');
