package main

import (
	"image/color"

	"charm.land/fang/v2"
	"charm.land/lipgloss/v2"
)

// helpColors is fang's default colour scheme with its CharmTone names written out as the
// RGB values they stand for, so help and errors look exactly as fang draws them. fang's own
// scheme holds charmtone keys, and a key builds a map of the whole palette every time a
// style asks for its RGB value: a few thousand maps for one --help, a fifth of its start.
func helpColors(c lipgloss.LightDarkFunc) fang.ColorScheme {
	var (
		charcoal = rgb(0x3A3943)
		ash      = rgb(0xDFDBDD)
		squid    = rgb(0x858392)
	)
	return fang.ColorScheme{
		Base:           c(charcoal, ash),
		Title:          rgb(0x6B50FF), // Charple
		Codeblock:      c(rgb(0xF1EFEF), rgb(0x2F2E36)),
		Program:        c(rgb(0x00A4FF), rgb(0x7272FF)), // Malibu, Guppy
		Command:        c(rgb(0xFF4FBF), rgb(0xFF79D0)), // Pony, Cheeky
		DimmedArgument: c(squid, rgb(0x605F6B)),         // Squid, Oyster
		Comment:        c(squid, rgb(0x747282)),
		Flag:           c(rgb(0x0CB37F), rgb(0x12C78F)), // -, Guac
		Argument:       c(charcoal, ash),
		Description:    c(charcoal, ash),
		FlagDefault:    c(rgb(0xBFBCC8), squid),                      // Smoke, Squid
		QuotedString:   c(rgb(0xFF577D), rgb(0xFF7F90)),              // Coral, Salmon
		ErrorHeader:    [2]color.Color{rgb(0xFFFAF1), rgb(0xFF388B)}, // Butter, Cherry
	}
}

func rgb(v uint32) color.Color {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xFF}
}
