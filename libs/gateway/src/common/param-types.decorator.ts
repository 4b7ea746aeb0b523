import 'reflect-metadata';

/** A constructor, as `design:paramtypes` lists them. */
type Ctor = abstract new (...args: never[]) => unknown;

/**
 * Declares a route handler's parameter types by hand: what `emitDecoratorMetadata` would have
 * written. The services run through tsx (esbuild), which emits no decorator metadata, and Nest
 * reads these types for two things: the global ValidationPipe (which DTO class to validate and
 * transform a `@Body()` or `@Query()` into) and the OpenAPI document (the body schema). Without
 * it, bodies would be passed through unvalidated.
 *
 *   @Post() @ParamTypes(Object, CreateJobDto)
 *   create(@Tenant() t: TenantContext, @Body() dto: CreateJobDto) {}
 */
export function ParamTypes(...types: Ctor[]): MethodDecorator {
  return (target, propertyKey) => {
    Reflect.defineMetadata('design:paramtypes', types, target, propertyKey);
  };
}
