// The same service as decorated.ts, started from the generated module: the class needs no decorators at all.
import './switchboard.generated.js';

export class Warehouse {}
