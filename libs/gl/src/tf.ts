/**
 * The one TensorFlow.js entry of the workspace. Everyone imports `tf` from `@cola/gl`, never from
 * `@tensorflow/tfjs-core` directly: tfjs-core alone registers no gradients, and a second import
 * path would make it easy to forget them (tf.grad then fails with "gradient function not found").
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';

export { tf };
export type Tensor = tf.Tensor;
export type Tensor1D = tf.Tensor1D;
export type Tensor2D = tf.Tensor2D;
export type Variable = tf.Variable;
