// Prints, as JSON {src, srcset, sizes}, what Nuxt Image's
// <NuxtImg provider="cloudinary" ...> puts on its <img>, with Nuxt Image's
// own runtime (createImage, getSizes) and its own Cloudinary provider doing
// all the URL writing. Used by the tests (tests/src/sdk.rs).
//   node nuxt_image.mjs PROPS_JSON
// PROPS are NuxtImg's: {src, width, height, fit, format, quality,
// background, modifiers, sizes, densities, preset}.
//
// Only the glue Nuxt supplies at build time is written here: the module's
// default options (module.js of @nuxt/image 2.1.0) and the ten lines of
// NuxtImg.vue / utils/props.js that turn props into modifiers, because
// those import Vue and Nuxt's virtual modules (#imports) that exist only
// inside a Nuxt build.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

// ESM ignores NODE_PATH; the tests set it to the pinned packages' folder.
const runtime = join(process.env.NODE_PATH, "@nuxt/image/dist/runtime");
const load = (file) => import(pathToFileURL(join(runtime, file)).href);
const { createImage } = await load("image.js");
const { default: cloudinary } = await load("providers/cloudinary.js");

const $img = createImage({
  provider: "cloudinary",
  presets: {},
  domains: [],
  alias: {},
  format: ["webp"],
  densities: [1, 2],
  screens: { sm: 640, md: 768, lg: 1024, xl: 1280, "2xl": 1536 },
  providers: {
    cloudinary: {
      setup: cloudinary,
      // nuxt.config's image.cloudinary.baseURL, as Nuxt Image's docs write it.
      defaults: { baseURL: "https://res.cloudinary.com/avenue/image/upload/" },
    },
  },
});

const props = JSON.parse(process.argv[2]);
const providerOptions = { provider: props.provider ?? "cloudinary", preset: props.preset };
const modifiers = {
  ...props.modifiers,
  width: props.width,
  height: props.height,
  format: props.format,
  quality: props.quality || $img.options.quality,
  background: props.background,
  fit: props.fit,
};
const sizes = $img.getSizes(props.src, {
  ...providerOptions,
  sizes: props.sizes,
  densities: props.densities,
  modifiers,
});
const src = props.sizes ? sizes.src : $img(props.src, modifiers, providerOptions);
process.stdout.write(JSON.stringify({ src, srcset: sizes.srcset, sizes: sizes.sizes ?? null }));
