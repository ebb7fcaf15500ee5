// mimetext's browser build takes String#trim from @babel/runtime-corejs3, which
// pulls in core-js-pure (about 37 KiB minified). wrangler.toml aliases that one
// import here: the runtime has the method. Same contract as the helper: return
// the function to call with the string as `this`.
export default function trimOf(value: string): (this: string) => string {
	return value.trim;
}
