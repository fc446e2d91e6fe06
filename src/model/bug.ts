/** Thrown when the model itself is broken (not a property of the modelled kernel). */
export class ModelBug extends Error {
  override readonly name = 'ModelBug';
}
