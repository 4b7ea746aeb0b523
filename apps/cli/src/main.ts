// The `cola` command line (npm run cola -- <command>): everything is in program.ts.
import { runCli } from './program';

void runCli(process.argv);
