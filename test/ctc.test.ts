import { keras, torch } from '../src';
import { expectFiniteDifferences } from './helpers/gradcheck';
import { describeParity } from './helpers/parity';

describeParity('sequence');
