import { tf } from '../tf';

/**
 * torch's `detach()`: the value of x, but no gradient flows back through it. tfjs-core has no
 * such op, so it is a custom gradient that returns zeros.
 */
export const stopGradient: <T extends tf.Tensor>(x: T) => T = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => {
  const t = x as tf.Tensor;
  return { value: tf.clone(t), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as <T extends tf.Tensor>(x: T) => T;
