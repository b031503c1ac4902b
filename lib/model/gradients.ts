/**
 * tfjs-core registers no gradient functions by itself (the `@tensorflow/tfjs` union package
 * does, through tfjs-layers). tfjs-layers' Node bundle registers all of them when loaded, into
 * the registry that every copy of tfjs-core shares: importing it is what makes tf.grad work.
 */
import "@tensorflow/tfjs-layers";
