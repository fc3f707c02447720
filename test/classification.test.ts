import { describeParity } from './helpers/parity';

describeParity('classification');
