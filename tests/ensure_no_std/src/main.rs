//! Links telhook-core into a bare-metal Cortex-M3 binary. If anything in the core (or its
//! dependencies) pulled in `std`, this would fail to build for `thumbv7m-none-eabi`.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use core::mem::MaybeUninit;
use embedded_alloc::LlffHeap as Heap;
use telhook_core::{normalize_event, Credentials, Provider, WebhookRequest};

#[global_allocator]
static HEAP: Heap = Heap::empty();

#[no_mangle]
pub extern "C" fn _start() -> ! {
    const HEAP_SIZE: usize = 16 * 1024;
    static mut HEAP_MEM: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
    // SAFETY: called once, before any allocation, on memory used by nothing else.
    unsafe { HEAP.init(core::ptr::addr_of_mut!(HEAP_MEM) as usize, HEAP_SIZE) }

    let body = br#"{"event_id":"e1","event_type":"sms.delivered","timestamp":"2026-05-27T10:15:08Z","data":{"recipient_phone":"+4512345678"}}"#;
    let request = WebhookRequest::post(vec![], body.to_vec());
    let credentials = Credentials::insecure_skip_verification();
    let ok = normalize_event(Some(Provider::Lisoloo), &request, &credentials, 1_780_000_000).is_ok();
    let policy = telhook_core::retry_policy(Provider::LoopLookup);
    core::hint::black_box((ok, policy));
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
