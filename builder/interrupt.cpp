#include "interrupt.hpp"

#include "bundlespec/interrupt.hpp"

namespace builder {

// One flag for the whole process: the bundle writer (bundlespec) polls the same one.
std::atomic<bool>& interrupt_flag() {
  return bundlespec::interrupt_flag();
}

void install_interrupt_handlers() {
  bundlespec::install_interrupt_handlers();
}

}  // namespace builder
