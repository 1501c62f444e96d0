#pragma once
// The D-Bus names of the fake radio: the control interface through which a
// phone (the reference phone's FakeRadioLink) acts as a BLE central against
// the fake org.bluez. It stands in for the air between a phone and the STB's
// Bluetooth controller, which the build machines do not have.
//
//   object /org/boxoffice/radio, interface org.boxoffice.FakeRadio1 on the org.bluez name:
//     Connect(s address, q mtu) -> o device      a phone connects, with the ATT MTU it negotiated
//     Disconnect(o device)
//     Pair(o device, s method, u passkey) -> b   link-layer pairing through the STB's agent;
//                                                method: confirmation | authorization | passkey | pincode
//     Read(o device, s uuid) -> ay               ATT read of a characteristic
//     Write(o device, s uuid, ay value)          ATT write request (answered when the STB answers)
//     Subscribe(o device, s uuid) / Unsubscribe  CCC descriptor write
//     signal Notified(o device, s uuid, ay value)   a notification reaching that phone
//
// An encrypt-authenticated characteristic refuses an unpaired device with
// org.bluez.Error.NotAuthorized ("Insufficient Authentication"), as the ATT layer would.

namespace boxoffice::fakebluez {

inline constexpr const char* kRadioPath = "/org/boxoffice/radio";
inline constexpr const char* kRadioInterface = "org.boxoffice.FakeRadio1";

} // namespace boxoffice::fakebluez
