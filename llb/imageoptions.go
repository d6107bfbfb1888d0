package llb

import "fmt"

// ImageOption is an option of [GoImage] or [CargoImage]: a [GoOption] or
// [CargoOption] for the compile stage, a [RuntimeOption] for the runtime
// stage, in one list, in any order:
//
//	llb.GoImage(src, builder, runtime, tc, spec,
//		llb.WithPackage("./cmd/server"), llb.WithLDFlags("-s -w"),
//		llb.WithBuildTools(tools), llb.WithSystemUser(app))
//
// The runtime options keep their order among themselves, as do the
// compile options.
type ImageOption interface{ isImageOption() }

func (GoOption) isImageOption()      {}
func (CargoOption) isImageOption()   {}
func (RuntimeOption) isImageOption() {}

// imageOptions are an ImageOption list sorted by stage.
type imageOptions struct {
	goOpts    []GoOption
	cargoOpts []CargoOption
	rtOpts    []RuntimeOption
}

func splitImageOptions(opts []ImageOption) imageOptions {
	var o imageOptions
	for _, opt := range opts {
		switch opt := opt.(type) {
		case GoOption:
			o.goOpts = append(o.goOpts, opt)
		case CargoOption:
			o.cargoOpts = append(o.cargoOpts, opt)
		case RuntimeOption:
			o.rtOpts = append(o.rtOpts, opt)
		}
	}
	return o
}

// foreign returns an error when opts hold compile options of the other
// language: a CargoOption given to GoImage, or a GoOption to CargoImage.
func (o imageOptions) foreign(fn string) error {
	switch {
	case fn == "GoImage" && len(o.cargoOpts) > 0:
		return fmt.Errorf("GoImage: %d CargoOption(s) given: they are for CargoImage", len(o.cargoOpts))
	case fn == "CargoImage" && len(o.goOpts) > 0:
		return fmt.Errorf("CargoImage: %d GoOption(s) given: they are for GoImage", len(o.goOpts))
	}
	return nil
}
