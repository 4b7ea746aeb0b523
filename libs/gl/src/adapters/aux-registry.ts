import type { AuxTypeConfig, AuxTypeDefinition } from './aux-type';
import { linearAuxType } from './linear/linear-aux-type';
import { lowrankAuxType } from './lowrank/lowrank-aux-type';
import { mlpAuxType } from './mlp/mlp-aux-type';

/** The aux types every process knows: one line per type. */
const BUILTIN_AUX_TYPES = [lowrankAuxType, linearAuxType, mlpAuxType] as const;

/** Type names of the built-in aux types, in registry order (for messages, DTOs and CLIs). */
export const AUX_TYPES = ['lowrank', 'linear', 'mlp'] as const satisfies readonly (typeof BUILTIN_AUX_TYPES)[number]['type'][];
export type AuxType = (typeof AUX_TYPES)[number];

const registry = new Map<string, AuxTypeDefinition<AuxTypeConfig>>();

/**
 * Adds an aux type. Built-ins are registered at load; a process (or a test) may add its own
 * before it creates adapters of that type. A name is registered once.
 */
export function registerAuxType<C extends AuxTypeConfig>(definition: AuxTypeDefinition<C>): void {
  if (registry.has(definition.type)) throw new Error(`aux type "${definition.type}" is already registered`);
  // The registry hands each config back only to the definition that validated it.
  registry.set(definition.type, definition as unknown as AuxTypeDefinition<AuxTypeConfig>);
}

for (const definition of BUILTIN_AUX_TYPES) registerAuxType<AuxTypeConfig>(definition as unknown as AuxTypeDefinition<AuxTypeConfig>);

/** Every registered type name, built-ins first. */
export function registeredAuxTypes(): string[] {
  return [...registry.keys()];
}

/** The definition of a registered type, or `undefined`. */
export function findAuxType(type: string): AuxTypeDefinition<AuxTypeConfig> | undefined {
  return registry.get(type);
}

/** The definition of a registered type; throws naming the known ones otherwise. */
export function auxTypeOf(type: string): AuxTypeDefinition<AuxTypeConfig> {
  const definition = registry.get(type);
  if (!definition) throw new Error(`unknown aux type "${type}"; registered: ${registeredAuxTypes().join(', ')}`);
  return definition;
}
