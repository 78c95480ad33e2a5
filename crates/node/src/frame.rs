//! A 128×64 one-bit framebuffer implementing embedded-graphics' `DrawTarget`: the
//! OLED's page rendered on a host (golden tests, the web dashboard), with a text
//! form and raw bytes.

use alloc::string::String;
use core::convert::Infallible;

use embedded_graphics::Pixel;
use embedded_graphics::draw_target::DrawTarget;
use embedded_graphics::geometry::{OriginDimensions, Size};
use embedded_graphics::pixelcolor::BinaryColor;

/// Screen width \[px\] (SSD1306 128×64).
pub const WIDTH_PX: u32 = 128;
/// Screen height \[px\].
pub const HEIGHT_PX: u32 = 64;
/// Bytes per row: 8 pixels per byte.
pub const ROW_BYTES: usize = (WIDTH_PX / 8) as usize;
/// Size of [`Frame::as_bytes`] \[bytes\].
pub const FRAME_BYTES: usize = ROW_BYTES * HEIGHT_PX as usize;

/// 128×64 pixels, one bit each, row-major from the top left; in each byte the most
/// significant bit is the leftmost pixel (the layout of PBM `P4` and of a canvas
/// drawn byte by byte). A set bit is a lit pixel.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    bits: [u8; FRAME_BYTES],
}

impl Frame {
    /// All pixels off.
    pub fn new() -> Frame {
        Frame {
            bits: [0; FRAME_BYTES],
        }
    }

    /// A frame from raw bytes in the layout of [`Frame::as_bytes`].
    pub fn from_bytes(bits: [u8; FRAME_BYTES]) -> Frame {
        Frame { bits }
    }

    /// The raw bytes: [`ROW_BYTES`] per row, [`HEIGHT_PX`] rows, MSB leftmost.
    pub fn as_bytes(&self) -> &[u8; FRAME_BYTES] {
        &self.bits
    }

    /// Whether the pixel at (`x`, `y`) is lit; `false` outside the screen.
    pub fn pixel(&self, x: u32, y: u32) -> bool {
        match Self::index(x, y) {
            Some((byte, mask)) => self.bits.get(byte).is_some_and(|b| b & mask != 0),
            None => false,
        }
    }

    /// Lights or clears one pixel; ignored outside the screen.
    pub fn set_pixel(&mut self, x: u32, y: u32, on: bool) {
        if let Some((byte, mask)) = Self::index(x, y)
            && let Some(b) = self.bits.get_mut(byte)
        {
            if on {
                *b |= mask;
            } else {
                *b &= !mask;
            }
        }
    }

    /// Lit pixels.
    pub fn lit_count(&self) -> u32 {
        self.bits.iter().map(|b| b.count_ones()).sum()
    }

    /// One line per row, `#` lit and `.` dark, each line ending in `\n`.
    pub fn to_text_art(&self) -> String {
        let mut art = String::with_capacity(((WIDTH_PX + 1) * HEIGHT_PX) as usize);
        for y in 0..HEIGHT_PX {
            for x in 0..WIDTH_PX {
                art.push(if self.pixel(x, y) { '#' } else { '.' });
            }
            art.push('\n');
        }
        art
    }

    fn index(x: u32, y: u32) -> Option<(usize, u8)> {
        if x >= WIDTH_PX || y >= HEIGHT_PX {
            return None;
        }
        let byte = y as usize * ROW_BYTES + (x / 8) as usize;
        Some((byte, 0x80 >> (x % 8)))
    }
}

impl Default for Frame {
    fn default() -> Frame {
        Frame::new()
    }
}

/// Prints the size and lit pixel count, not 1 KiB of bits.
impl core::fmt::Debug for Frame {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Frame({WIDTH_PX}x{HEIGHT_PX}, {} lit)", self.lit_count())
    }
}

impl OriginDimensions for Frame {
    fn size(&self) -> Size {
        Size::new(WIDTH_PX, HEIGHT_PX)
    }
}

impl DrawTarget for Frame {
    type Color = BinaryColor;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Infallible>
    where
        I: IntoIterator<Item = Pixel<BinaryColor>>,
    {
        for Pixel(point, color) in pixels {
            // Negative coordinates are off screen; the conversion refuses them.
            if let (Ok(x), Ok(y)) = (u32::try_from(point.x), u32::try_from(point.y)) {
                self.set_pixel(x, y, color.is_on());
            }
        }
        Ok(())
    }

    fn clear(&mut self, color: BinaryColor) -> Result<(), Infallible> {
        self.bits.fill(if color.is_on() { 0xFF } else { 0 });
        Ok(())
    }
}
