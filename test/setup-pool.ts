// Every test process: parallel regions stay threaded even after a contention stall (the machine
// running the tests is often busy), so the thread-count tests exercise the helper pool.
import { native } from '../src/core/native';

native.setContentionBackoff(false);
