#!/usr/bin/env node
import './production.js';
import { buildProgram } from './program.js';

await buildProgram().parseAsync();
